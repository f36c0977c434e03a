// Runs a TF.js graph model in Node with the pure-JS CPU backend (@tensorflow/tfjs, no native
// binary) or the WebAssembly backend the demo page uses, and prints its outputs as JSON.
//   stdin:  {"model_dir": "...", "backend": "cpu" | "wasm", "inputs": {"name": {"shape": [...], "dtype": "float32",
//            "data": [...flat...]}}}
//   stdout: {"outputs": {"name": {"shape": [...], "data": [...flat...]}}, "ms": ...}
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs");
require("@tensorflow/tfjs-backend-wasm");  // registers the "wasm" backend

// A minimal IOHandler: model.json and its weight shards from a local folder.
function folderHandler(dir) {
  return {
    load: async () => {
      const modelJson = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8"));
      const weightSpecs = [];
      const buffers = [];
      for (const group of modelJson.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(dir, shard)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        signature: modelJson.signature,
        userDefinedMetadata: modelJson.userDefinedMetadata,
        modelInitializer: modelJson.modelInitializer,
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

async function main() {
  const request = JSON.parse(fs.readFileSync(0, "utf8"));
  await tf.setBackend(request.backend || "cpu");
  const model = await tf.loadGraphModel(folderHandler(request.model_dir));
  const inputs = {};
  for (const [name, spec] of Object.entries(request.inputs)) {
    inputs[name] = tf.tensor(spec.data, spec.shape, spec.dtype);
  }
  // tfcreative.json names each output's graph node.
  const meta = JSON.parse(fs.readFileSync(path.join(request.model_dir, "tfcreative.json")));
  const names = Object.keys(meta.output_nodes);
  const start = Date.now();
  let result = await model.executeAsync(inputs, names.map((n) => meta.output_nodes[n]));
  const ms = Date.now() - start;
  if (!Array.isArray(result)) result = [result];
  const outputs = {};
  for (let i = 0; i < names.length; i++) {
    outputs[names[i]] = { shape: result[i].shape, data: Array.from(await result[i].data()) };
  }
  process.stdout.write(JSON.stringify({ outputs, ms }));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
