/**
 * webdav-server (v2 API) on 127.0.0.1 for tests: Basic authentication for one user with full
 * rights, files kept in a temp folder (PhysicalFileSystem), served by our own node:http server so
 * that stop() can drop open connections like a crashed server would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { v2 as webdav } from 'webdav-server';

export interface WebdavTestServerOptions {
  root: string;
  username: string;
  password: string;
}

export interface WebdavTestServer {
  readonly port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export async function startWebdavServer(options: WebdavTestServerOptions): Promise<WebdavTestServer> {
  let port = 0;
  let http: Server;
  const listen = async () => {
    const users = new webdav.SimpleUserManager();
    const user = users.addUser(options.username, options.password, false);
    const privileges = new webdav.SimplePathPrivilegeManager();
    privileges.setRights(user, '/', ['all']);
    const dav = new webdav.WebDAVServer({
      httpAuthentication: new webdav.HTTPBasicAuthentication(users, 'volet-test'),
      privilegeManager: privileges,
      requireAuthentification: true,
      rootFileSystem: new webdav.PhysicalFileSystem(options.root),
    });
    http = createServer((request, response) => dav.executeRequest(request, response));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', () => resolve());
    });
    port = (http.address() as AddressInfo).port;
  };
  await listen();
  return {
    get port() {
      return port;
    },
    async stop() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
    restart: listen,
  };
}
