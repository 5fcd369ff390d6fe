/**
 * Why a listen failed. uWebSockets.js's listen callback only says that it failed, so the same
 * bind is tried once with node:net, whose error carries the errno: the operator is told "address
 * in use" apart from "not an address of this host" and from a host name that does not resolve.
 */
import net from 'node:net';

/** One sentence for the start-up error, naming host and port. */
export async function explainListenFailure(host: string, port: number): Promise<string> {
  const where = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const err = await probeBind(host, port);
  if (err === undefined) {
    // Whatever stopped uWS is gone by now (a port freed in between), or Node.js sees it otherwise.
    return `cannot listen on ${where}: uWebSockets.js refused the address, but a test bind from Node.js just succeeded (try again)`;
  }
  if (err.syscall === 'getaddrinfo') {
    return `cannot listen on ${where}: the host name ${JSON.stringify(host)} does not resolve (${err.code ?? err.message}); set HOST to an address of this host, or 0.0.0.0 for all`;
  }
  switch (err.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: address in use (another process is listening on port ${port}; stop it, or set PORT to a free port)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${host} is not an address of this host (set HOST to one of its addresses, 127.0.0.1 for loopback only, or 0.0.0.0 for all)`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`;
    default:
      return `cannot listen on ${where}: ${err.code ?? err.message}`;
  }
}

/** Binds host:port with node:net and closes at once; the bind's error, or undefined when it worked. */
function probeBind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    try {
      probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
    } catch (err) {
      resolve(err as NodeJS.ErrnoException); // arguments node:net refuses outright
    }
  });
}
