// HTTP helpers and the two error-body shapes Daytona uses.
//
// - The API (NestJS, apps/api/src/filters/all-exceptions.filter.ts) answers errors with
//   `{ path, timestamp, statusCode, error, message }`.
// - The daemon behind the toolbox proxy (libs/common-go/pkg/errors/middleware.go) answers
//   `{ statusCode, message, code, timestamp, path, method }`.
// The SDK (errors/DaytonaError.js, createAxiosDaytonaError) maps the HTTP status to an error
// class and takes the message from `body.message`, the code from `body.code`.

import { STATUS_CODES } from "node:http";

/** An error carrying an HTTP status and a response body. */
export class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(typeof body?.message === "string" ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

export function apiErrorBody(status, message, path) {
  return { path, timestamp: new Date().toISOString(), statusCode: status, error: STATUS_CODES[status] ?? "Error", message };
}

const DAEMON_CODES = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  408: "REQUEST_TIMEOUT",
  409: "CONFLICT",
  410: "GONE",
  422: "UNPROCESSABLE_ENTITY",
  500: "INTERNAL_SERVER_ERROR",
};

export function daemonErrorBody(status, message, path, method, code = DAEMON_CODES[status]) {
  return { statusCode: status, message, ...(code ? { code } : {}), timestamp: new Date().toISOString(), path, method };
}

/** API-style error (the `path` is filled in by the server when it is sent). */
export const apiError = (status, message) => new HttpError(status, { kind: "api", message });
/** Daemon-style error; `code` defaults to the daemon's code for the status. */
export const daemonError = (status, message, code) => new HttpError(status, { kind: "daemon", message, code });

export function sendJson(res, status, body, headers = {}) {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Reads a whole request body (bounded) as a Buffer. */
export function readBody(req, limit = 64 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, { kind: "api", message: "Payload too large" }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** URLSearchParams → plain object; repeated keys become arrays. */
export function queryObject(searchParams) {
  const query = {};
  for (const [key, value] of searchParams) {
    if (key in query) query[key] = [].concat(query[key], value);
    else query[key] = value;
  }
  return query;
}

/** Compares dotted versions numerically (pre-release tags ignored): -1, 0 or 1. */
export function compareVersions(a, b) {
  const parse = (v) =>
    String(v)
      .replace(/^v/, "")
      .split("-")[0]
      .split(".")
      .map((n) => Number.parseInt(n, 10) || 0);
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0) ? -1 : 1;
  }
  return 0;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
