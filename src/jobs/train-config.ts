/** The one home of `train`'s defaults: the CLI, the API and the docs read them from here. */
export interface TrainConfig {
  epochs: number;
  /** Peak learning rate, cosine-annealed to 0 over all steps. */
  lr: number;
  batchSize: number;
  momentum: number;
  weightDecay: number;
}

export const TRAIN_DEFAULTS: TrainConfig = { epochs: 20, lr: 0.05, batchSize: 64, momentum: 0.9, weightDecay: 5e-4 };
