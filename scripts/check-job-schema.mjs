// Validates job specs against docs/job-spec.schema.json with Ajv (JSON Schema 2020-12):
//   node scripts/check-job-schema.mjs MODULES_DIR FILE.yaml...   (a file "-" reads stdin)
// Each YAML file is read as JSON (the shape the scheduler's validator sees) and checked; a file
// whose first line is "# schema: reject" must be refused, any other must be accepted. Prints one
// line per file; exits 1 if any result is not the expected one. Run by scripts/check-job-schema.sh.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [modulesDir, ...files] = process.argv.slice(2);
const require = createRequire(path.resolve(modulesDir, "node_modules", "x.js"));
const Ajv2020 = require("ajv/dist/2020").default;
const YAML = require("yaml");

const schema = JSON.parse(fs.readFileSync("docs/job-spec.schema.json", "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(schema);

let failed = 0;
for (const file of files) {
  const text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  const expectReject = text.startsWith("# schema: reject");
  const doc = YAML.parse(text);
  const ok = validate(doc);
  const good = ok !== expectReject;
  if (!good) failed++;
  const why = ok ? "" : ": " + validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
  console.log(`${good ? "ok  " : "FAIL"} ${file} ${ok ? "accepted" : "rejected"}${why}`);
}
process.exit(failed ? 1 : 0);
