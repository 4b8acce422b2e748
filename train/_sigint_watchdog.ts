/**
 * A worker that ends the process with code 130 on the second Ctrl-C. It runs on its own thread, so
 * it hears the signal while the main thread is busy inside a training step (a wasm step blocks the
 * main event loop for seconds, and a listener there would only run after it). It exits through
 * libc's `_exit`, which ends the whole process from any thread; without FFI it falls back to
 * Deno.exit. Started by train/loop.ts.
 */
let exit = (code: number): void => Deno.exit(code);
try {
  const libc = Deno.dlopen(Deno.build.os === "darwin" ? "libc.dylib" : "libc.so.6", {
    _exit: { parameters: ["i32"], result: "void" },
  });
  exit = (code) => libc.symbols._exit(code);
} catch {
  // no FFI permission or no libc: Deno.exit, which may wait for the main thread
}
let interrupts = 0;
Deno.addSignalListener("SIGINT", () => {
  if (++interrupts > 1) exit(130);
});
(self as unknown as { postMessage(m: string): void }).postMessage("listening");
