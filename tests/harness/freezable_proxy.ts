// A TCP proxy on loopback whose open connections can be frozen: they stay open but pass no byte either way,
// as a half-open connection does when a link drops without a FIN. New connections pass normally.
export interface FreezableProxy extends AsyncDisposable {
  port: number;
  /** Every connection open now stops forwarding, for good. */
  freeze(): void;
  close(): Promise<void>;
}

export function startFreezableProxy(targetPort: string | number): FreezableProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<{ frozen: boolean; close(): void }>();
  const pump = async (from: Deno.Conn, to: Deno.Conn, state: { frozen: boolean }) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null || state.frozen) break;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch { /* closed */ }
    // A frozen connection is left open: the peer must notice the silence by itself.
    if (!state.frozen) await to.closeWrite().catch(() => {/* closed */});
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: Number(targetPort) }).catch(() =>
        undefined
      );
      if (!server) {
        client.close();
        continue;
      }
      const state = {
        frozen: false,
        close() {
          for (const c of [client, server]) {
            try {
              c.close();
            } catch { /* closed */ }
          }
        },
      };
      open.add(state);
      void Promise.all([pump(client, server, state), pump(server, client, state)]).then(() => {
        if (!state.frozen) {
          state.close();
          open.delete(state);
        }
      });
    }
  })().catch(() => {});
  const close = async () => {
    listener.close();
    for (const c of open) c.close();
    open.clear();
    await accepting;
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    freeze() {
      for (const c of open) c.frozen = true;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
