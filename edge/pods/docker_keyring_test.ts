import assert from "node:assert/strict";
import { DockerKeyring, repositoryOf } from "./docker_keyring.ts";

const login = (username: string) => ({ username, password: `${username}-pw` });
const keyring = (config: Record<string, { username?: string; password?: string; auth?: string }>) => {
  const k = new DockerKeyring();
  k.add(config);
  return k;
};

Deno.test("repositoryOf normalises image names as docker does: Docker Hub short names, no tag or digest", () => {
  assert.equal(repositoryOf("busybox"), "docker.io/library/busybox");
  assert.equal(repositoryOf("busybox:1.36"), "docker.io/library/busybox");
  assert.equal(repositoryOf("user/app@sha256:abc"), "docker.io/user/app");
  assert.equal(repositoryOf("index.docker.io/user/app:1"), "docker.io/user/app");
  assert.equal(repositoryOf("127.0.0.1:5000/kedge/private:1"), "127.0.0.1:5000/kedge/private");
  assert.equal(repositoryOf("localhost/app:2"), "localhost/app");
  assert.equal(repositoryOf("registry.example.com/a/b/c"), "registry.example.com/a/b/c");
});

Deno.test("keyring matches host parts as globs, the port exactly and the path as a prefix (keyring.go's cases)", () => {
  const cases: Array<[string, string, boolean]> = [
    ["https://*.kubernetes.io", "prefix.kubernetes.io/app", true],
    ["prefix.*.io", "prefix.kubernetes.io/app", true],
    ["prefix.kubernetes.*", "prefix.kubernetes.io/app", true],
    ["*-good.kubernetes.io", "prefix-good.kubernetes.io/app", true],
    ["*.kubernetes.io/blah", "prefix.kubernetes.io/blah", true],
    ["prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", true],
    ["*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", true],
    ["https://*.docker.io/v1/", "prefix.docker.io/path", true],
    ["https://*.docker.io/v2/path", "prefix.docker.io/path/sub", true],
    ["*.kubernetes.io", "kubernetes.io/app", false],
    ["*.*.kubernetes.io", "prefix.kubernetes.io/app", false],
    ["*.kubernetes.io/blah", "prefix.kubernetes.io/other", false],
    ["*.kubernetes.io:1111", "prefix.kubernetes.io:2222/app", false],
    ["*.kubernetes.io:1111", "prefix.kubernetes.io/app", false],
    ["*.kubernetes.io", "prefix.kubernetes.io:1111/app", false],
    ["127.0.0.1:5000", "127.0.0.1:5000/kedge/private:1", true],
    ["http://127.0.0.1:5000", "127.0.0.1:5001/kedge/private:1", false],
    ["[::1]:5000", "[::1]:5000/app", true],
  ];
  for (const [location, image, match] of cases) {
    assert.deepEqual(
      keyring({ [location]: login("u") }).lookup(image),
      match ? [login("u")] : [],
      `${location} ~ ${image}`,
    );
  }
});

Deno.test("keyring: every matching key, longest first; auth wins over username and password; Docker Hub's entry", () => {
  const k = keyring({
    "registry.example.com": login("host"),
    "registry.example.com/team": login("team"),
    "registry.example.com/team/app": { username: "ignored", password: "x", auth: btoa("auth:pa:ss") },
    "https://index.docker.io/v1/": login("hub"),
  });
  assert.deepEqual(k.lookup("registry.example.com/team/app:1"), [
    { username: "auth", password: "pa:ss" },
    login("team"),
    login("host"),
  ]);
  assert.deepEqual(k.lookup("registry.example.com/other"), [login("host")]);
  assert.deepEqual(k.lookup("busybox"), [login("hub")]);
  assert.deepEqual(k.lookup("docker.io/user/app:1"), [login("hub")]);
  assert.deepEqual(k.lookup("quay.io/user/app"), []);
  // Unpadded base64, as the kubelet also reads it.
  assert.deepEqual(keyring({ "r.io": { auth: "dTpw" } }).lookup("r.io/a"), [{
    username: "u",
    password: "p",
  }]);
  assert.deepEqual(keyring({ "r.io": { auth: "dTpwcQ" } }).lookup("r.io/a"), [{
    username: "u",
    password: "pq",
  }]);
  assert.throws(() => keyring({ "r.io": { auth: "bm9jb2xvbg==" } }), TypeError);
});
