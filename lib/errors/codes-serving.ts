import type { ErrorCodeInfo } from './error-code-info.js';

/** Errors of the model server and of MLflow model reading (serving/). */
export const servingErrors = {
  MLMODEL_INVALID: {
    summary: 'The MLmodel file of a model directory is missing, is not valid YAML, or lacks the onnx flavor.',
    fix: 'Point --model-dir (or MODEL_DIR) at a directory in MLflow layout: an MLmodel file with `flavors.onnx.data` naming the ONNX file, as `mlflow.onnx.save_model` writes it.',
  },
  SIGNATURE_INVALID: {
    summary: 'The signature in MLmodel is missing or does not follow MLflow\'s schema format.',
    fix: 'Log the model with a signature (`mlflow.models.infer_signature`); inputs and outputs are JSON lists of column specs (`{"name", "type", "required"}`) or tensor specs (`{"type": "tensor", "tensor-spec": {"dtype", "shape"}}`).',
  },
  ONNX_LOAD_FAILED: {
    summary: 'onnxruntime could not load the ONNX file of the model.',
    fix: 'Check that the file is a complete ONNX model whose opset and IR version onnxruntime 1.30 supports (re-export it with a recent onnx / skl2onnx).',
  },
  SIGNATURE_GRAPH_MISMATCH: {
    summary: 'The MLmodel signature does not match the inputs of the ONNX graph.',
    fix: 'Make the signature\'s column names equal the ONNX input names (one input per column), or give the graph exactly one input of shape [N, k] for k numeric columns; element types must agree (numbers with numeric inputs, strings with string inputs).',
  },
  SERVER_CONFIG_INVALID: {
    summary: 'A model server setting (flag or environment variable) has an invalid value.',
    fix: 'See docs/serving.md for every environment variable, its type and default.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
