// The hand-written WebAssembly modules compiled once and handed to workers (model/wasm-module.ts). That a fit on worker
// threads, which adopt the starting thread's modules, gives the draws of a fit on this thread is tested in
// test/inference/nuts.test.ts ("fit() on worker threads").
import { describe, expect, it } from "vitest";
import "../../src/inference/nuts-wasm.js";
import "../../src/model/dense-kernel.js";
import "../../src/model/linalg-wasm.js";
import { adoptCompiled, compiledModules, compiledOnce } from "../../src/model/wasm-module.js";

/** The smallest valid module: the magic number and version. */
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

describe("compiledModules", () => {
  it("compiles every module loaded on this thread, once", () => {
    const first = compiledModules();
    expect(Object.keys(first)).toEqual(expect.arrayContaining(["nuts", "linalg", "dense-kernel"]));
    for (const m of Object.values(first)) expect(m).toBeInstanceOf(WebAssembly.Module);
    const again = compiledModules();
    for (const name of Object.keys(first)) expect(again[name]).toBe(first[name]);
  });
});

describe("adoptCompiled", () => {
  it("takes a module compiled elsewhere instead of compiling its source, before or after the source is loaded", () => {
    const before = new WebAssembly.Module(EMPTY_MODULE);
    adoptCompiled({ "adopted-before-load": before });
    // Not valid base64 of a module: compiling it would give null, so getting `before` back means it was not compiled.
    expect(compiledOnce("adopted-before-load", "bm90IGEgbW9kdWxl")()).toBe(before);

    const after = new WebAssembly.Module(EMPTY_MODULE);
    const load = compiledOnce("adopted-after-load", "bm90IGEgbW9kdWxl");
    adoptCompiled({ "adopted-after-load": after });
    expect(load()).toBe(after);
  });

  it("keeps a module this thread compiled already and ignores what is not a module", () => {
    const load = compiledOnce("compiled-here", Buffer.from(EMPTY_MODULE).toString("base64"));
    const own = load();
    expect(own).toBeInstanceOf(WebAssembly.Module);
    adoptCompiled({ "compiled-here": new WebAssembly.Module(EMPTY_MODULE) });
    expect(load()).toBe(own);

    adoptCompiled({ "not-a-module": {} as WebAssembly.Module });
    expect(compiledOnce("not-a-module", "bm90IGEgbW9kdWxl")()).toBeNull();
  });
});
