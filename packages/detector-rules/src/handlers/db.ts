import type { ToolContext } from "../engine/context.js";
import { type Arg, syntheticArg } from "../engine/words.js";
import { LOCALHOST } from "./network.js";

/**
 * Database clients. A database shell's escape to the system shell (`\!`, `.shell`, `system`,
 * `runProgram`), its file writes (`\o FILE`, `.output FILE`, `INTO OUTFILE`, `COPY … PROGRAM`,
 * `CONFIG SET dir`) and extension loading are judged wherever the server is; statements that
 * write are clause 2 only on a server that is not this machine; a remote server with statements
 * the detector cannot see is a remote session.
 */

const HOST_OPTIONS = ["-h", "--host", "-H", "--hostname", "--server", "-S", "--uri", "--url", "-u", "--dsn", "--connection-string"];
const URI =
  /^(postgres(?:ql)?|pg|pgsql|mysql|my|mariadb|maria|mongodb(?:\+srv)?|rediss?|valkeys?|clickhouse|ch|sqlserver|mssql|ms|cockroachdb|cr|oracle|or|oci8|cassandra|cql|snowflake|sf|trino|presto|vertica|redshift|rs|jdbc:[a-z]+):\/\//i;
const READ_SQL =
  /^\s*(\(?\s*select|show|explain|describe|desc|with\b[\s\S]*\bselect|values|table|\\[dlz?]|\\conninfo|\\timing|\\x|\\echo|\\pset|\\encoding|\\set|\\q|pragma\s+\w+\s*;?\s*$|\.tables|\.schema|\.indexes|\.headers|\.mode|\.width|\.dump|\.databases|\.quit|\.exit|\.help|\.show|\.dbinfo|\.stats|db\.\w+\.(find|count|aggregate|distinct|findOne|countDocuments|estimatedDocumentCount|getIndexes|stats)\b|db\.(stats|getCollectionNames|version|serverStatus|getName)\b|show\s+\w+|use\s+\w+|print|printjson)/i;
const REDIS_READ =
  /^(GET|MGET|KEYS|SCAN|HSCAN|SSCAN|ZSCAN|EXISTS|TTL|PTTL|TYPE|STRLEN|HGET|HGETALL|HMGET|HKEYS|HVALS|HLEN|HEXISTS|LRANGE|LLEN|LINDEX|SMEMBERS|SCARD|SISMEMBER|ZRANGE|ZRANGEBYSCORE|ZREVRANGE|ZCARD|ZSCORE|ZRANK|XRANGE|XREVRANGE|XLEN|XINFO|INFO|PING|ECHO|DBSIZE|TIME|LASTSAVE|MEMORY|OBJECT|DUMP|CLIENT|SLOWLOG|LATENCY|COMMAND|ROLE|MONITOR|SUBSCRIBE|PSUBSCRIBE|PUBSUB|GETRANGE|BITCOUNT|GEOPOS|GEODIST|PFCOUNT|RANDOMKEY|LPOS|SRANDMEMBER|ZCOUNT|HSTRLEN|TOUCH|AUTH|SELECT|HELLO|QUIT)$/i;
const REDIS_DANGEROUS =
  /^(CONFIG|MODULE|SLAVEOF|REPLICAOF|DEBUG|SHUTDOWN|EVAL|EVALSHA|EVAL_RO|FCALL|FUNCTION|SCRIPT|MIGRATE|ACL|CLUSTER|SYNC|PSYNC|BGREWRITEAOF|FAILOVER)$/i;

/** Subcommands of otherwise dangerous (or mixed) redis commands that only read. */
const REDIS_READ_SUBCOMMANDS: Record<string, RegExp> = {
  CONFIG: /^(GET|HELP)$/,
  ACL: /^(LIST|USERS|WHOAMI|CAT|GETUSER|LOG|DRYRUN|HELP|GENPASS)$/,
  CLUSTER:
    /^(INFO|NODES|SLOTS|SHARDS|MYID|MYSHARDID|KEYSLOT|COUNTKEYSINSLOT|GETKEYSINSLOT|LINKS|REPLICAS|SLAVES|COUNT-FAILURE-REPORTS|HELP)$/,
  SCRIPT: /^(EXISTS|HELP)$/,
  FUNCTION: /^(LIST|DUMP|STATS|HELP)$/,
  MODULE: /^(LIST|HELP)$/,
  CLIENT: /^(LIST|INFO|GETNAME|ID|HELP|TRACKINGINFO|GETREDIR)$/,
  COMMAND: /^(COUNT|DOCS|GETKEYS|GETKEYSANDFLAGS|INFO|LIST|HELP)$/,
};
/** redis-cli modes that only scan or measure. */
const REDIS_SCANS = [
  "--bigkeys",
  "--memkeys",
  "--hotkeys",
  "--keystats",
  "--scan",
  "--stat",
  "--latency",
  "--latency-history",
  "--latency-dist",
  "--intrinsic-latency",
  "--replica",
  "--version",
  "-v",
];

/** Escapes to the system shell and client-side file writes, per client. */
function shellEscapes(text: string): { runs: boolean; writes: string[]; loads: boolean; libraries: string[] } {
  const out = { runs: false, writes: [] as string[], loads: false, libraries: [] as string[] };
  const lines = text.split(/\n|;(?=\s*[\\.])/);
  for (const raw of lines) {
    const line = raw.trim();
    if (
      /^\\!|^\\setenv|^\\o\s*\||^\\g\s*\||^\\w\s*\||^\\copy\b[\s\S]*\bprogram\b|^\.(shell|system|once\s+-[ex]|excel|sh)\b|^system\s|^!|^\\\./.test(
        line,
      )
    )
      out.runs = true;
    if (/\bprogram\s+'/i.test(line) && /\bcopy\b/i.test(line)) out.runs = true;
    if (/\b(runProgram|_runMongoProgram|run\s*\(|child_process|require\s*\(\s*['"]child_process|process\.kill|os\.system)/.test(line))
      out.runs = true;
    if (/^\.(output|once|read|import)\s+['"]?\|/.test(line)) out.runs = true;
    // `.load LIB`, `load_extension('LIB')`, `LOAD 'LIB'`: a named library is judged by where it is.
    const library =
      /^\.load\s+['"]?([^\s'"]+)/i.exec(line) ?? /\bload_extension\s*\(\s*'([^']*)'/i.exec(line) ?? /^\s*LOAD\s+'([^']*)'/i.exec(line);
    if (library?.[1]) out.libraries.push(library[1]);
    else if (/\b(load_extension|\.load\s)/i.test(line)) out.loads = true;
    // `VACUUM INTO 'FILE'`, `ATTACH 'FILE'`: a database file written at a named path.
    for (const m of line.matchAll(/\b(?:VACUUM(?:\s+\w+)?\s+INTO|ATTACH(?:\s+DATABASE)?)\s+'([^']*)'/gi)) out.writes.push(m[1] as string);
    if (/\b(VACUUM(?:\s+\w+)?\s+INTO|ATTACH(?:\s+DATABASE)?)\s+(?!')/i.test(line)) out.loads = true;
    if (/\b(edit\s*\(|writefile\s*\(|lo_export|pg_read_file|pg_ls_dir|dblink|\bINTO\s+(OUT|DUMP)FILE\b)/i.test(line)) out.loads = true;
    const file =
      /^(?:\\o|\\out|\\w|\.output|\.once|\.save|\.backup(?:\s+\w+)?|\.open(?:\s+--?\w+)*|\.log|\.trace|tee|\\T)\s+(?!['"]?\|)(\S+)/i.exec(
        line,
      );
    if (file?.[1]) out.writes.push(file[1].replace(/^['"]|['"]$/g, ""));
  }
  return out;
}

/** Whether the client talks to a server that is not this machine. */
function remote(ctx: ToolContext): boolean | undefined {
  const { parsed } = ctx;
  for (const o of parsed.options) {
    if (!HOST_OPTIONS.includes(o.name) || !o.value) continue;
    if (
      ctx.inv.program === "psql" ||
      ctx.inv.program === "pg_dump" ||
      ctx.inv.program === "pg_restore" ||
      ctx.inv.program.startsWith("mysql") ||
      ctx.inv.program === "mariadb"
    ) {
      if (o.name === "-u" || o.name === "-U") continue;
    }
    const v = o.value.value;
    if (v === undefined) return undefined;
    if (!(LOCALHOST.test(v) || v.startsWith("/") || v === "." || v === "")) return true;
  }
  const program = ctx.inv.program;
  const hostFirst = program === "cqlsh" || program === "mongosh" || program === "mongo";
  for (const [i, p] of parsed.positionals.entries()) {
    const v = p.value;
    if (v === undefined) {
      if (/URL|URI|DSN|DATABASE|CONN|HOST/i.test(p.variables.join(" ")) || (hostFirst && i === 0)) return undefined;
      continue;
    }
    // `cqlsh HOST [PORT]`, `mongosh HOST[:PORT]/DB`: the first argument is the server.
    if (
      hostFirst &&
      i === 0 &&
      !LOCALHOST.test(v) &&
      !/^\d+$/.test(v) &&
      (program === "cqlsh" || /[.:/]/.test(v)) &&
      !/\.(js|mongodb)$/.test(v)
    )
      return true;
    // libpq connection strings: `psql 'host=db.example.com dbname=app'`.
    const conninfo = /(?:^|\s)(?:host|hostaddr|server|data source)\s*=\s*['"]?([^\s'";]+)/i.exec(v);
    if (conninfo && !LOCALHOST.test(conninfo[1] as string) && !(conninfo[1] as string).startsWith("/")) return true;
    if (URI.test(v) && !LOCALHOST.test(v.replace(URI, "x://"))) return true;
    if (/^[\w.-]+@[\w.-]+/.test(v) && !LOCALHOST.test(v.replace(/^[^@]*@/, ""))) return true;
  }
  for (const [name, value] of ctx.inv.env) {
    if (/^(PGHOST|MYSQL_HOST|DATABASE_URL|REDIS_URL|MONGO_URL|MONGODB_URI|REDISCLI_HOST)$/.test(name)) {
      if (value.value === undefined) return undefined;
      if (!LOCALHOST.test(value.value) && !value.value.startsWith("/")) return true;
    }
  }
  return false;
}

export function database(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  const program = inv.program;
  const statements: Arg[] = [];
  let hidden = false;
  for (const o of parsed.options) {
    if (/^(-c|--command|-e|--execute|--eval|-q|--query|-Q|--cmd|-cmd)$/.test(o.name) && o.value) statements.push(o.value);
    if (o.name === "-s" && program === "duckdb" && o.value) statements.push(o.value);
    if (/^(-f|--file|-i|--init-command|--init-file|-init|--init)$/.test(o.name) && o.value) {
      // A statements file: visible only when the line wrote it; otherwise its content is unknown.
      hidden = true;
      ctx.runFile(o.value, "unknown");
    }
    if (/^(-o|--output|--log-file|--tee|--result-file|--out)$/.test(o.name) && o.value) ctx.path(o.value, "write");
  }
  // Positional statements: sqlite3/duckdb DB 'SQL', redis-cli CMD ARGS, mongosh --eval, clickhouse.
  const positionals = parsed.positionals;
  if (/^(sqlite3?|duckdb|litecli|spatialite)$/.test(program)) {
    if (positionals[0]) ctx.path(positionals[0], "write");
    statements.push(...positionals.slice(1));
  } else if (/^(redis-cli|valkey-cli|keydb-cli)$/.test(program)) {
    const isRemote = remote(ctx);
    if (parsed.has("--pipe") && isRemote !== false) return ctx.find("db.write", "sends commands from its input to a server elsewhere");
    if (parsed.has("--cluster")) {
      const sub = (parsed.value("--cluster")?.value ?? "").toLowerCase();
      if (/^(info|check|help)$/.test(sub)) return ctx.find("local.read");
      if (isRemote !== false) return ctx.find("db.write", `changes a cluster elsewhere (--cluster ${sub})`);
    }
    if (positionals.length === 0) {
      if (REDIS_SCANS.some((m) => parsed.has(m)) && inv.stdin.kind === "terminal") return ctx.find("local.network-read");
      if (isRemote !== false && inv.stdin.kind === "terminal")
        return ctx.find("net.remote-session", "opens a session on a server elsewhere");
      if (isRemote !== false && inv.stdin.kind !== "terminal")
        return ctx.find("db.write", "sends commands from its input to a server elsewhere");
      return ctx.find("local.read");
    }
    const cmd = positionals[0]?.value;
    if (cmd === undefined) return ctx.find("exec.dynamic-word", "sends a redis command whose name is not a literal");
    const sub = positionals[1]?.value?.toUpperCase();
    const upper = cmd.toUpperCase();
    const readSub = REDIS_READ_SUBCOMMANDS[upper];
    if (readSub && sub !== undefined && readSub.test(sub)) return ctx.find("local.read");
    if (REDIS_DANGEROUS.test(cmd))
      return ctx.find("exec.surface", `sends ${upper}${sub ? ` ${sub}` : ""}, which reconfigures the server, loads code or writes files`);
    const reads = REDIS_READ.test(cmd) && !(readSub && sub !== undefined && !readSub.test(sub) && upper === "CLIENT");
    if (!reads && isRemote !== false) return ctx.find("db.write");
    if (isRemote !== false && positionals.some((p) => p.value === undefined)) return ctx.find("db.write");
    if (parsed.has("-x") && isRemote !== false && !reads) return ctx.find("db.write");
    return ctx.find(reads ? "local.read" : "local.project-write");
  }
  const stdin = inv.stdin;
  if (stdin.kind === "text") statements.push(syntheticArg(stdin.literal ? stdin.text : undefined));
  else if (stdin.kind === "pipe") {
    if (stdin.producers.text !== undefined) statements.push(syntheticArg(stdin.producers.text));
    else hidden = true;
  } else if (stdin.kind === "file" || stdin.kind === "generated" || stdin.kind === "descriptor") hidden = true;
  let writes = false;
  for (const s of statements) {
    const text = s.value;
    if (text === undefined) {
      ctx.find("exec.dynamic-code", "sends database statements built at run time");
      continue;
    }
    const escapes = shellEscapes(text);
    if (escapes.runs) ctx.find("code.runs-programs", "runs a system command from the database shell");
    if (escapes.loads) ctx.find("exec.surface", "loads code or writes files through the database (extensions, OUTFILE, writefile)");
    for (const lib of escapes.libraries)
      if (ctx.classify(syntheticArg(lib, s)) !== "inside")
        ctx.find("exec.native", `loads the extension \`${lib}\` into the database shell`);
    for (const w of escapes.writes) ctx.path(syntheticArg(w, s), "write");
    const parts = text
      .split(/;\s*(?=\S)/)
      .map((p) => p.trim())
      .filter((p) => p !== "");
    if (parts.some((p) => !READ_SQL.test(p) && !/^\\[a-z]/i.test(p) && !/^\./.test(p))) writes = true;
  }
  const isRemote = remote(ctx);
  if (isRemote !== false) {
    if (hidden) return ctx.find("db.write", "sends statements the detector cannot see to a database on another server");
    if (writes) return ctx.find("db.write");
    if (
      statements.length === 0 &&
      stdin.kind === "terminal" &&
      !/^(pg_dump|pg_dumpall|mysqldump|mongodump|mongoexport|pg_isready)$/.test(program)
    )
      return ctx.find("net.remote-session", "opens a session on a database server elsewhere");
  }
  ctx.find(writes || hidden ? "local.project-write" : "local.read");
}
