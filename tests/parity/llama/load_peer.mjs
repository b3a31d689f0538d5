// Imports node-llama-cpp from the peers folder. ESM resolution ignores NODE_PATH and
// the cwd, so the package is resolved explicitly from PAGODA_PEERS_DIR (set by ctest),
// falling back to tests/peers beside this file.
import {createRequire} from "node:module";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

export function peersDir() {
    const here = path.dirname(fileURLToPath(import.meta.url));
    return process.env.PAGODA_PEERS_DIR || path.resolve(here, "../../peers");
}

export async function importPeer(name) {
    const require = createRequire(path.join(peersDir(), "package.json"));
    return import(pathToFileURL(require.resolve(name)).href);
}
