import assert from "node:assert/strict";
import {
  canonicalHeader,
  decodeKeMessage,
  encodeKeMessage,
  goHeader,
  goUrl,
  KE_MESSAGE,
  pathOfGoUrl,
} from "./kubeedge_frame.ts";

Deno.test("KubeEdge stream messages are uvarint id, uvarint type, data, as Go's binary.PutUvarint writes them", () => {
  // stream.NewMessage(300, MessageTypeData, []byte("hi")).Bytes() in KubeEdge v1.23.
  assert.deepEqual(
    [...encodeKeMessage(300, KE_MESSAGE.DATA, new TextEncoder().encode("hi"))],
    [0xac, 0x02, 0x03, 0x68, 0x69],
  );
  assert.deepEqual([...encodeKeMessage(1, KE_MESSAGE.REMOVE_CONNECT)], [0x01, 0x04]);
  assert.deepEqual([...encodeKeMessage(2 ** 40, KE_MESSAGE.LOGS_CONNECT)].slice(0, 6), [
    0x80,
    0x80,
    0x80,
    0x80,
    0x80,
    0x20,
  ]);
  const decoded = decodeKeMessage(new Uint8Array([0xac, 0x02, 0x06, 0x7b, 0x7d]));
  assert.equal(decoded?.id, 300);
  assert.equal(decoded?.type, KE_MESSAGE.ATTACH_CONNECT);
  assert.equal(new TextDecoder().decode(decoded?.data), "{}");
});

Deno.test("message types are KubeEdge's iota order: logs, exec, metric, data, remove, close, attach", () => {
  assert.deepEqual(Object.values(KE_MESSAGE), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Object.keys(KE_MESSAGE), [
    "LOGS_CONNECT",
    "EXEC_CONNECT",
    "METRIC_CONNECT",
    "DATA",
    "REMOVE_CONNECT",
    "CLOSE_CONNECT",
    "ATTACH_CONNECT",
  ]);
});

Deno.test("a truncated or oversized uvarint is no message", () => {
  assert.equal(decodeKeMessage(new Uint8Array([])), undefined);
  assert.equal(decodeKeMessage(new Uint8Array([0x80])), undefined);
  assert.equal(decodeKeMessage(new Uint8Array([0x01])), undefined);
  assert.equal(decodeKeMessage(new Uint8Array(10).fill(0xff)), undefined);
});

Deno.test("a connector url is Go's url.URL JSON; the edge takes only its path and query", () => {
  const url = goUrl("/containerLogs/default/web/app?follow=true&tailLines=1");
  assert.deepEqual(Object.keys(url), [
    "Scheme",
    "Opaque",
    "User",
    "Host",
    "Path",
    "RawPath",
    "OmitHost",
    "ForceQuery",
    "RawQuery",
    "Fragment",
    "RawFragment",
  ]);
  assert.equal(url.Host, "127.0.0.1:10350");
  assert.equal(url.Path, "/containerLogs/default/web/app");
  assert.equal(url.RawQuery, "follow=true&tailLines=1");
  assert.equal(pathOfGoUrl(url), "/containerLogs/default/web/app?follow=true&tailLines=1");
  // As KubeEdge's cloud sends it (encoding/json of the apiserver's request URL).
  const fromGo = JSON.parse(
    '{"Scheme":"http","Opaque":"","User":null,"Host":"evil.example:80","Path":"/exec/default/web/app",' +
      '"RawPath":"","OmitHost":false,"ForceQuery":false,"RawQuery":"command=ls&output=1","Fragment":"",' +
      '"RawFragment":""}',
  );
  assert.equal(pathOfGoUrl(fromGo), "/exec/default/web/app?command=ls&output=1");
  assert.equal(pathOfGoUrl({ Path: 3 }), undefined);
});

Deno.test("headers travel as Go's http.Header: canonical names, values in order", () => {
  assert.equal(canonicalHeader("x-stream-protocol-version"), "X-Stream-Protocol-Version");
  assert.deepEqual(
    goHeader([["connection", "Upgrade"], ["x-stream-protocol-version", "v4"], [
      "X-Stream-Protocol-Version",
      "v5",
    ]]),
    { Connection: ["Upgrade"], "X-Stream-Protocol-Version": ["v4", "v5"] },
  );
});
