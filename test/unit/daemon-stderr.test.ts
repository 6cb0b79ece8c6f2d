// The daemon's stderr in the Upscale log: a healthy start's library chatter at debug level
// and without colour codes; the daemon's own lines as it logged them; anything else a warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stderrLine } from '../../extension/daemon-stderr';

// What onnxruntime-node 1.22 and Dawn printed on a machine without CUDA libraries or Vulkan,
// paths shortened.
const HEALTHY_START = [
  '\u001b[1;31m2026-12-07 04:05:44.304841803 [E:onnxruntime:onnxruntime-node, provider_bridge_ort.cc:2146 Create] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1988 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /x/libonnxruntime_providers_shared.so with error: /x/libonnxruntime_providers_shared.so: cannot open shared object file: No such file or directory',
  '\u001b[m',
  "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory",
  '    at operator() (/build/Release/_deps/dawn-src/src/dawn/native/vulkan/BackendVk.cpp:368)',
  '',
  'error: XDG_RUNTIME_DIR is invalid or not set in the environment.',
];

test('a healthy start: library lines at debug level, cleaned of escape codes, blank ones dropped', () => {
  const lines = HEALTHY_START.map(stderrLine).filter((l) => l !== null);
  assert.equal(lines.length, 4);
  for (const line of lines) {
    assert.equal(line.level, 'debug', line.message);
    assert.equal(line.own, false);
    assert.ok(!line.message.includes('\u001b'), line.message);
    assert.match(line.message, /^daemon stderr: ./);
  }
  assert.match(lines[0]?.message ?? '', /^daemon stderr: 2026-12-07 04:05:44\.304841803 \[E:onnxruntime:/);
});

test("the daemon's own lines keep their level and lose their prefix; anything else is a warning", () => {
  assert.deepEqual(stderrLine('[upscale info] providers: cpu runs'), {
    level: 'info',
    message: 'providers: cpu runs',
    own: true,
  });
  assert.deepEqual(stderrLine('[upscale error] could not remove x'), {
    level: 'error',
    message: 'could not remove x',
    own: true,
  });
  assert.deepEqual(stderrLine('FATAL ERROR: Reached heap limit Allocation failed'), {
    level: 'warn',
    message: 'daemon stderr: FATAL ERROR: Reached heap limit Allocation failed',
    own: false,
  });
  // A JavaScript stack line is not a library's source location.
  assert.equal(stderrLine('    at run (/ext/dist/upscale.js:10:5)')?.level, 'warn');
  assert.equal(stderrLine('   \u001b[0m  '), null);
});
