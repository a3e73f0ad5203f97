export {
  Predictor,
  type PredictorOptions,
  type Standardization,
  MAX_ABS_FEATURE,
  DRAW_ORDER_SEED,
  shuffledDrawTable,
  type DrawTable,
  type Instance,
} from "./predictor.js";
export { predictionSchema, targetObservation, dataReadBy, featureBounds, type FeatureSpec, type PredictionSchema } from "./features.js";
export { InstanceError, type InstanceProblem } from "./instance-error.js";
export { answerMeanings } from "./answer-meanings.js";
export { PREDICTION_KINDS, type PredictionKind } from "./prediction-kind.js";
export { heldOutLpd, looOfRows, compareScores, SCORE_DRAWS, type InstanceRows, type PointwiseScore } from "./scores.js";
export { answerAll, answerInstance, type InstanceAnswer, type MeanAnswer, type PredictParams } from "./answer.js";
export { inferAll, inferInstance, instanceWork, needsSamples, type InferAnswer, type InferParams } from "./infer.js";
