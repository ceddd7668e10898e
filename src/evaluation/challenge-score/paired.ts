/**
 * Does one group of unlearned runs score above another? The difference of their forget scores F, with a paired
 * bootstrap interval over the forget examples. Both groups must be scored against the same retrained runs (same N,
 * same forget set, in the same order), so an example's points under A and under B are resampled together: the
 * interval of the difference is much narrower than the two F intervals side by side, which can overlap long after
 * the difference is clear. Like F's own interval, it holds the N models of each side fixed: it says how sure the
 * ranking is over forget examples, not over other seeds for the runs. The final score is F times the accuracy
 * ratios of its runs, so its difference is the same bootstrap over each example's points times its side's ratios
 * (pairedFinalDifference; the accuracies held fixed too).
 */
import { UserError } from "../../errors.js";
import { meanInterval, type BootstrapInterval, type ForgetScore, type ForgetScoreOptions } from "./forget-score.js";
import type { ChallengeScore } from "./score-confs.js";

export interface PairedDifference {
  /** F(a) - F(b). */
  delta: number;
  /** Percentile bootstrap interval of the difference (examples resampled with replacement, one draw for both). */
  interval: BootstrapInterval;
  /** "above": the whole interval is above 0 (a scores higher); "below": the whole interval is below 0; else "not separated". */
  verdict: "above" | "below" | "not separated";
}

/** The bootstrap's settings, as for F's interval (0 resamples: the interval is [delta, delta]), and names. */
export interface PairedOptions extends Pick<ForgetScoreOptions, "resamples" | "level" | "seed"> {
  /** Names of the two scores in error messages; default a and b. */
  names?: [string, string];
}

/** F(a) - F(b) with its paired interval; a UserError when the scores do not share N and S. */
export function pairedDifference(a: ForgetScore, b: ForgetScore, o: PairedOptions = {}): PairedDifference {
  return difference(a, b, 1, 1, o);
}

/** final(a) - final(b) with its paired interval (each example's points times its side's accuracy ratios). */
export function pairedFinalDifference(a: ChallengeScore, b: ChallengeScore, o: PairedOptions = {}): PairedDifference {
  return difference(a.forget, b.forget, ratios(a), ratios(b), o);
}

/** final score / F: (RA_U / RA_R) x (TA_U / TA_R) of the mean accuracies, as finalScore multiplies them. */
const ratios = (c: ChallengeScore) =>
  (c.accuracy.unlearnedRetain / c.accuracy.retrainedRetain) * (c.accuracy.unlearnedTest / c.accuracy.retrainedTest);

function difference(a: ForgetScore, b: ForgetScore, ra: number, rb: number, o: PairedOptions): PairedDifference {
  const [aName, bName] = o.names ?? ["a", "b"];
  if (a.N !== b.N)
    throw new UserError(
      `${aName} is scored with N = ${a.N} models per side, ${bName} with N = ${b.N}; compare equal N`,
    );
  if (a.S !== b.S)
    throw new UserError(
      `${aName} has ${a.S} forget examples, ${bName} has ${b.S}; the comparison needs the same forget set`,
    );
  const diff = new Float64Array(a.S);
  let total = 0;
  for (let s = 0; s < a.S; s++) {
    diff[s] = a.points[s]! * ra - b.points[s]! * rb;
    total += diff[s]!;
  }
  const delta = total / a.S;
  const interval = meanInterval(diff, delta, o);
  const verdict = interval.low > 0 ? "above" : interval.high < 0 ? "below" : "not separated";
  return { delta, interval, verdict };
}
