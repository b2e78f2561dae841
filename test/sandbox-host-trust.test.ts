// The host's trust reaches the sandbox: the CAs it trusts and its proxy settings, for every tool,
// with an opt-out; secrets in proxy URLs never reach logs. Then the spec's own examples in the
// default sandbox. Needs the Docker engine and images of scripts/docker-setup.sh; the last tests
// reach the npm registry and Debian's mirror, as these machines can.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, tempProject } from "./helpers.js";

const project = tempProject();
const base = { STIGMER_SANDBOX_IMAGE: "stigmer-test/sandbox-basic:ci", STIGMER_SANDBOX_TTL: "120" };
const certs = tempProject();
let gateway: string;
let https: Server;
let httpsPort: number;
let proxy: Server;
let proxyPort: number;
const connects: string[] = [];

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "0.0.0.0", () => resolve((server.address() as { port: number }).port)));

beforeAll(async () => {
  // The bridge's gateway, where a container reaches the host: a container's default route says it.
  gateway = execFileSync(
    "docker",
    ["run", "--rm", "--label", "dev.stigmer.test=true", "stigmer-test/busybox:1", "sh", "-c", "ip route | awk '/default/ { print $3 }'"],
    {
      encoding: "utf8",
    },
  ).trim();
  // A CA of our own, and a server certificate it signed for the gateway's address.
  const o = (args: string[]) => execFileSync("openssl", args, { cwd: certs.dir, stdio: "ignore" });
  o(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=stigmer-test-ca"]);
  o(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${gateway}`]);
  writeFileSync(join(certs.dir, "san.ext"), `subjectAltName=IP:${gateway}\n`);
  o([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "san.ext",
  ]);
  const read = (name: string) => execFileSync("cat", [join(certs.dir, name)]);
  https = createHttpsServer({ key: read("server.key"), cert: read("server.pem") }, (_req, res) => res.end("trusted\n"));
  httpsPort = await listen(https);
  // A CONNECT proxy that wants credentials.
  proxy = createHttpServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req, client: Socket) => {
    const auth = req.headers["proxy-authorization"];
    connects.push(`${req.url} ${auth ?? "-"}`);
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host as string, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  proxyPort = await listen(proxy);
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => (https ? https.close(resolve) : resolve(undefined)));
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  project.cleanup();
  certs.cleanup();
});

const inSandbox = (command: string, env: Record<string, string> = {}, extra: string[] = []) =>
  runCli(["run", "--mode=sandbox", ...extra, "--", command], { cwd: project.dir, env: { ...base, ...env } });

describe("the host's trust reaches the sandbox", () => {
  it("every tool trusts the CAs the host trusts (a file named by NODE_EXTRA_CA_CERTS here); the opt-out drops them", async () => {
    const url = `https://${gateway}:${httpsPort}/`;
    const env = { NODE_EXTRA_CA_CERTS: join(certs.dir, "ca.pem"), NO_PROXY: "*" };
    const probes = [
      `curl -sS ${url}`,
      // Without the variables: the image's own store, as apt and anything ignoring SSL_CERT_FILE use it.
      `env -u SSL_CERT_FILE -u CURL_CA_BUNDLE curl -sS ${url}`,
      `node -e 'fetch("${url}").then((r) => r.text()).then((t) => process.stdout.write(t))'`,
      `python3 -c 'import urllib.request; print(urllib.request.urlopen("${url}").read().decode(), end="")'`,
      `git -c http.sslVerify=true ls-remote ${url} 2>&1 | grep -c 'certificate' || true`,
    ].join("; ");
    const trusted = await inSandbox(probes, env);
    expect(trusted.stdout, trusted.stderr).toBe("trusted\ntrusted\ntrusted\ntrusted\n0");

    const refused = await inSandbox(`curl -sS ${url} 2>&1 | grep -o 'certificate problem'`, { ...env, STIGMER_SANDBOX_HOST_CAS: "false" });
    expect(refused.stdout.trim()).toBe("certificate problem");
  }, 60_000);

  it("proxy settings are passed (a loopback proxy is reached through the gateway); their secrets never reach logs or doctor", async () => {
    const env = { HTTPS_PROXY: `http://alice:s3cret-token@127.0.0.1:${proxyPort}`, NODE_EXTRA_CA_CERTS: join(certs.dir, "ca.pem") };
    connects.length = 0;
    const r = await inSandbox(`echo "$HTTPS_PROXY"; echo "$https_proxy"; curl -sS https://${gateway}:${httpsPort}/`, env, [
      "--log-level",
      "debug",
    ]);
    expect(r.stdout, r.stderr).toBe(
      `http://alice:s3cret-token@host.docker.internal:${proxyPort}\nhttp://alice:s3cret-token@host.docker.internal:${proxyPort}\ntrusted`,
    );
    expect(connects).toEqual([`${gateway}:${httpsPort} Basic ${Buffer.from("alice:s3cret-token").toString("base64")}`]);
    expect(r.stderr).not.toContain("s3cret");
    const doctor = await runCli(["doctor", "--json"], { cwd: project.dir, env: { ...base, ...env, STIGMER_EXECUTION_MODE: "sandbox" } });
    expect(doctor.stdout).toContain(`"HTTPS_PROXY": "http://***@host.docker.internal:${proxyPort}"`);
    expect(doctor.stdout).not.toContain("s3cret");
    const off = await inSandbox('echo "[$HTTPS_PROXY]"', { ...env, STIGMER_SANDBOX_HOST_PROXY: "false" });
    expect(off.stdout).toBe("[]");
  }, 60_000);
});

describe("network", () => {
  it("the host's network needs an explicit opt-in, and doctor warns about it", async () => {
    const refused = await runCli(["run", "--mode=sandbox", "--", "true"], {
      cwd: project.dir,
      env: { ...base, STIGMER_SANDBOX_NETWORK: "host" },
    });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/INVALID_CONFIG: STIGMER_SANDBOX_NETWORK=host .* set STIGMER_SANDBOX_ALLOW_HOST_NETWORK=true/);
    const doctor = await runCli(["doctor"], {
      cwd: project.dir,
      env: { ...base, STIGMER_EXECUTION_MODE: "sandbox", STIGMER_SANDBOX_NETWORK: "host", STIGMER_SANDBOX_ALLOW_HOST_NETWORK: "true" },
    });
    expect(doctor.stdout).toMatch(/^warn +sandbox-environment +STIGMER_SANDBOX_NETWORK=host: /m);
  }, 60_000);
});

describe("the spec's examples work in the default sandbox", () => {
  it("pip install (from wheels in the project: PyPI is not reachable here), as root, outside the project", async () => {
    // A wheel made here, and requests with its dependencies downloaded through the host's own pip configuration.
    const wheels = join(project.dir, "wheels");
    mkdirSync(wheels, { recursive: true });
    execFileSync("python3", [
      "-c",
      `import zipfile
w = zipfile.ZipFile("${wheels}/stigmertiny-0.1-py3-none-any.whl", "w")
w.writestr("stigmertiny.py", "VALUE = 42\\n")
w.writestr("stigmertiny-0.1.dist-info/METADATA", "Metadata-Version: 2.1\\nName: stigmertiny\\nVersion: 0.1\\n")
w.writestr("stigmertiny-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
w.writestr("stigmertiny-0.1.dist-info/RECORD", "")
w.close()`,
    ]);
    execFileSync("pip", ["download", "--quiet", "--dest", wheels, "requests"], { stdio: "ignore" });
    const r = await inSandbox(
      "pip install --no-index --find-links ./wheels --break-system-packages stigmertiny requests >/dev/null 2>&1; python3 -c 'import stigmertiny, requests; print(stigmertiny.VALUE, requests.__name__)'",
    );
    expect(r.stdout, r.stderr).toBe("42 requests");
  }, 120_000);

  it("npm install -g typescript, through the registry and the host's CAs", async () => {
    const r = await inSandbox("npm install -g typescript >/dev/null 2>&1; tsc --version", {}, ["--timeout", "110"]);
    expect(r.stdout, r.stderr).toMatch(/^Version \d+\.\d+/);
  }, 120_000);

  it("apt update && apt install, from Debian's mirror", async () => {
    const r = await inSandbox(
      "apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq sl >/dev/null 2>&1; test -x /usr/games/sl && echo installed",
      {},
      ["--timeout", "110"],
    );
    expect(r.stdout, r.stderr).toBe("installed");
  }, 120_000);
});
