// The one door to @peculiar/x509: it resolves its algorithms through tsyringe, which needs the Reflect
// metadata polyfill loaded first, and it must use the runtime's WebCrypto.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export { x509 };
