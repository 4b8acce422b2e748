/**
 * Before/after switches for benchmarks: the wasm BatchMatMul as tfjs-backend-wasm 4.22 ships it, or
 * the fast-path rewrite of transforms/wasm_matmul.ts (which `setBackend("wasm")` installs). Each
 * returns a function that puts back whichever kernel was registered before.
 */
import { installWasmMatMul, uninstallWasmMatMul, wasmMatMulInstalled } from "../transforms/wasm_matmul.ts";

const restorer =
  (wasInstalled: boolean) => () => (wasInstalled ? installWasmMatMul() : uninstallWasmMatMul());

/** Registers the shipped wasm BatchMatMul (the "before" of a comparison). */
export function useShippedWasmMatMul(): () => void {
  const restore = restorer(wasmMatMulInstalled());
  uninstallWasmMatMul();
  return restore;
}

/** Registers the fast-path wasm BatchMatMul (the "after" of a comparison). */
export function installFastWasmMatMul(): () => void {
  const restore = restorer(wasmMatMulInstalled());
  installWasmMatMul();
  return restore;
}
