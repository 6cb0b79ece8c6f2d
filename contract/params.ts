// The parameters of the protocol's smaller methods, described by field tables as the
// `upscale` request is (contract/request.ts), and parsed from them: unknown JSON in, typed
// params out, or an InvalidParams error that names the field, the value and what was
// expected.
import type { CancelParams, ModelIdParams, NoParams } from './protocol';
import { ACTIVATIONS, EXECUTION_PROVIDERS } from './vocabulary';
import { onlyKnown, paramsObject, parseFields, requestId, type FieldSpec, type FieldValues } from './validate';

const INITIALIZE_FIELDS = {
  clientName: { kind: { type: 'string', maxLength: 200 }, doc: 'Who is asking, for the log.' },
  provider: {
    kind: { type: 'choice', choices: EXECUTION_PROVIDERS },
    doc: "Where the models run; default 'auto', the fastest this machine has.",
  },
  modelsFolder: {
    kind: { type: 'path' },
    doc: "The user's models folder (default: the platform's data folder, see README).",
  },
  maxInputPixels: {
    kind: { type: 'number', min: 1, max: 1e12, integer: true },
    doc: 'Largest input image, in pixels.',
  },
  maxOutputPixels: {
    kind: { type: 'number', min: 1, max: 1e12, integer: true },
    doc: 'Largest output (and intermediate pass) image, in pixels.',
  },
} as const satisfies Readonly<Record<string, FieldSpec>>;

export type InitializeParams = FieldValues<typeof INITIALIZE_FIELDS>;

export function parseInitialize(raw: unknown): InitializeParams {
  return parseFields('initialize', raw, INITIALIZE_FIELDS);
}

const IMPORT_FIELDS = {
  path: {
    kind: { type: 'path' },
    required: true,
    doc: 'Absolute path of a .pth, .safetensors, .onnx or ncnn .param file.',
  },
  activation: {
    kind: { type: 'choice', choices: ACTIVATIONS },
    doc:
      'SRVGGNetCompact weights only: the activation the model was trained with. Needed only when the weights hold ' +
      'no PReLU slopes (ReLU is then assumed, with a warning); refused when it contradicts the weights or the file ' +
      'is another architecture.',
  },
} as const satisfies Readonly<Record<string, FieldSpec>>;

export type ModelsImportParams = FieldValues<typeof IMPORT_FIELDS>;

export function parseImport(raw: unknown): ModelsImportParams {
  return parseFields('models/import', raw, IMPORT_FIELDS);
}

function proxyProblem(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  try {
    const u = new URL(withScheme);
    return u.protocol === 'http:' || u.protocol === 'https:' ? null : 'an http:// or https:// proxy URL';
  } catch {
    return 'an http:// or https:// proxy URL';
  }
}

const DOWNLOAD_FIELDS = {
  id: { kind: { type: 'string', maxLength: 200 }, required: true, doc: 'A catalogue id (models/catalogue.json).' },
  allowUnverified: {
    kind: { type: 'boolean' },
    doc: 'Required for catalogue entries without a published SHA-256 (`verified: false`).',
  },
  keepSource: {
    kind: { type: 'boolean' },
    doc: 'Keep the downloaded release file in `<modelsFolder>/sources/` (default: removed).',
  },
  proxy: {
    kind: { type: 'string', maxLength: 2048 },
    check: proxyProblem,
    doc: "A proxy URL (VS Code's http.proxy); overrides HTTPS_PROXY/HTTP_PROXY. NO_PROXY still applies.",
  },
} as const satisfies Readonly<Record<string, FieldSpec>>;

export type ModelsDownloadParams = FieldValues<typeof DOWNLOAD_FIELDS>;

export function parseDownload(raw: unknown): ModelsDownloadParams {
  const m = 'models/download';
  const p = paramsObject(m, raw);
  // VS Code's http.proxy is "" when unset, and blank is as good as unset: no proxy.
  const { proxy, ...rest } = p;
  return parseFields(m, typeof proxy === 'string' && proxy.trim() === '' ? rest : p, DOWNLOAD_FIELDS);
}

export function parseNoParams(method: string, raw: unknown): NoParams {
  const p = paramsObject(method, raw);
  onlyKnown(method, p, []);
  return {};
}

export function parseModelId(method: string, raw: unknown): ModelIdParams {
  return parseFields(method, raw, {
    id: { kind: { type: 'string', maxLength: 200 }, required: true, doc: 'A model id (models/list).' },
  });
}

export function parseCancel(raw: unknown): CancelParams {
  const m = '$/cancelRequest';
  const p = paramsObject(m, raw);
  return { id: requestId(m, p, 'id') };
}
