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
const URI = /^(postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|clickhouse|sqlserver|cockroachdb|jdbc:[a-z]+):\/\//i;
const READ_SQL =
  /^\s*(\(?\s*select|show|explain|describe|desc|with\b[\s\S]*\bselect|values|table|\\[dlz?]|\\conninfo|\\timing|\\x|\\echo|\\pset|\\encoding|\\set|\\q|pragma\s+\w+\s*;?\s*$|\.tables|\.schema|\.indexes|\.headers|\.mode|\.width|\.dump|\.databases|\.quit|\.exit|\.help|\.show|\.dbinfo|\.stats|db\.\w+\.(find|count|aggregate|distinct|findOne|countDocuments|estimatedDocumentCount|getIndexes|stats)\b|db\.(stats|getCollectionNames|version|serverStatus|getName)\b|show\s+\w+|use\s+\w+|print|printjson)/i;
const REDIS_READ =
  /^(GET|MGET|KEYS|SCAN|HSCAN|SSCAN|ZSCAN|EXISTS|TTL|PTTL|TYPE|STRLEN|HGET|HGETALL|HMGET|HKEYS|HVALS|HLEN|HEXISTS|LRANGE|LLEN|LINDEX|SMEMBERS|SCARD|SISMEMBER|ZRANGE|ZRANGEBYSCORE|ZREVRANGE|ZCARD|ZSCORE|ZRANK|XRANGE|XREVRANGE|XLEN|XINFO|INFO|PING|ECHO|DBSIZE|TIME|LASTSAVE|MEMORY|OBJECT|DUMP|CLIENT|SLOWLOG|LATENCY|COMMAND|ROLE|MONITOR|SUBSCRIBE|PSUBSCRIBE|PUBSUB|GETRANGE|BITCOUNT|GEOPOS|GEODIST|PFCOUNT|RANDOMKEY|LPOS|SRANDMEMBER|ZCOUNT|HSTRLEN|TOUCH|AUTH|SELECT|HELLO|QUIT)$/i;
const REDIS_DANGEROUS =
  /^(CONFIG|MODULE|SLAVEOF|REPLICAOF|DEBUG|SHUTDOWN|EVAL|EVALSHA|EVAL_RO|FCALL|FUNCTION|SCRIPT|MIGRATE|ACL|CLUSTER|SYNC|PSYNC|BGREWRITEAOF|FAILOVER)$/i;

/** Escapes to the system shell and client-side file writes, per client. */
function shellEscapes(text: string): { runs: boolean; writes: string[]; loads: boolean } {
  const out = { runs: false, writes: [] as string[], loads: false };
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
    if (
      /\b(load_extension|\.load\s|edit\s*\(|writefile\s*\(|lo_export|pg_read_file|pg_ls_dir|dblink|\bINTO\s+(OUT|DUMP)FILE\b|\bVACUUM\s+INTO\b|\bATTACH\b)/i.test(
        line,
      )
    )
      out.loads = true;
    const file = /^(?:\\o|\\out|\\w|\.output|\.once|\.save|\.backup(?:\s+\w+)?|tee|\\T)\s+(?!\|)(\S+)/i.exec(line);
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
  for (const p of parsed.positionals) {
    const v = p.value;
    if (v === undefined) {
      if (/URL|URI|DSN|DATABASE|CONN|HOST/i.test(p.variables.join(" "))) return undefined;
      continue;
    }
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
    if (/^(-c|--command|-e|--execute|--eval|-q|--query|-Q|--cmd)$/.test(o.name) && o.value) statements.push(o.value);
    if (/^(-f|--file|-i|--init-command|--init-file)$/.test(o.name) && o.value) {
      // A statements file: visible only when the line wrote it; otherwise its content is unknown.
      hidden = true;
      ctx.runFile(o.value, "unknown");
    }
    if (/^(-o|--output|--log-file|--tee|--result-file|--out)$/.test(o.name) && o.value) ctx.path(o.value, "write");
  }
  // Positional statements: sqlite3/duckdb DB 'SQL', redis-cli CMD ARGS, mongosh --eval, clickhouse.
  const positionals = parsed.positionals;
  if (program === "sqlite3" || program === "duckdb" || program === "litecli") {
    if (positionals[0]) ctx.path(positionals[0], "write");
    statements.push(...positionals.slice(1));
  } else if (/^(redis-cli|valkey-cli|keydb-cli)$/.test(program) && positionals.length > 0) {
    const cmd = positionals[0]?.value;
    if (cmd === undefined) return ctx.find("exec.dynamic-word", "sends a redis command whose name is not a literal");
    if (REDIS_DANGEROUS.test(cmd))
      return ctx.find("exec.surface", `sends ${cmd.toUpperCase()}, which reconfigures the server, loads code or writes files`);
    const isRemote = remote(ctx);
    if (!REDIS_READ.test(cmd) && isRemote !== false) return ctx.find("db.write");
    if (isRemote !== false && positionals.some((p) => p.value === undefined)) return ctx.find("db.write");
    return ctx.find(REDIS_READ.test(cmd) ? "local.read" : "local.project-write");
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
