// Gradient commitments and their comparison (docs/audits.md): what a rank commits to for its local
// gradient each step, and how an audit's recomputation is judged against it. Shared by the
// trainer (which computes and exchanges them) and the scheduler (which re-judges what ranks
// report), so both apply the same rule.
//
// A commitment is the BLAKE3 hash of the gradient's bytes (blake3.h: collision-resistant and
// ~1.7x faster than SHA-256 here, a tree that parallelises), its L2 norm and a count sketch: every
// coordinate i is added, with a sign, to one of kSketchBuckets sums, bucket and sign drawn from a
// seed that is only known once every rank's hash is in (SketchSeed). Ranks of the same compute
// configuration must agree to the bit (the hash); across configurations, where float rounding
// differs, the norm and every bucket must agree within a tolerance relative to the norm.
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::audit {

inline constexpr int kSketchBuckets = 32;

struct Commitment {
  std::string hash;            // BLAKE3 of the n floats' bytes (little-endian), 64 hex digits
  double norm = 0;             // L2 norm, summed in index order in double
  std::vector<double> sketch;  // kSketchBuckets signed bucket sums (Sketch)
  std::string config;          // the compute configuration that produced it (ComputeConfig)
  // The sum check's projections of the committed gradient (SumProjections; empty when none was
  // made): what binds the gradient a rank sends into the all-reduce to the one it committed to.
  std::vector<double> projections;
  bool operator==(const Commitment&) const = default;
};

// The hash of a gradient of n floats.
std::string GradientHash(const float* g, int64_t n);

// The sketch's seed for `step`: SHA-256 over the attempt's nonce, the step and every rank's hash
// in rank order (64 hex digits). Nobody can know it before every hash is fixed.
std::string SketchSeed(std::string_view nonce, int64_t step,
                       const std::vector<std::string>& hashes);

// The count sketch of g under `seed` (SketchSeed's hex), summed in index order in double, and the
// L2 norm.
void Sketch(const float* g, int64_t n, std::string_view seed, std::vector<double>* sketch,
            double* norm);

// A full commitment of g: the hash, and the norm and sketch under `seed`.
Commitment Commit(const float* g, int64_t n, std::string_view seed, std::string config);

// The sum check (docs/audits.md "The sum check"). The hash binds the gradient a rank commits to,
// not the one it sends into the all-reduce: a rank could commit to its honest gradient, pass
// every audit of it, and send something else. Projections are linear, so the projections of what
// the ranks sent add up to the projection of their all-reduced sum, up to the all-reduce's float
// rounding. On every step with an audit exchange each rank claims the projections of the
// gradient it committed to, under signs drawn from the sketch seed (known only once every
// gradient has been sent), every rank checks that the claims add up, and an audit checks the
// auditee's claim against its committed bytes.
inline constexpr int kSumProjections = 4;
// g's projections on kSumProjections vectors of +-1 signs drawn from `seed` (SketchSeed's hex),
// each summed in double in an order this code fixes (eight running sums, coordinate i into sum
// i % 8, each in index order, then added pairwise): every build and machine gets the same bits.
// `simd` false forces the portable loop, which the AVX2 one must match bit for bit (tests).
// `count` 1 gives only the first projection, the same bits, in about a third of the time (the
// late sum check of every step: docs/audits.md "The sum check"); else kSumProjections.
std::vector<double> SumProjections(const float* g, int64_t n, std::string_view seed,
                                   bool simd = true, int count = kSumProjections);
// How far a projection of the float all-reduce of world = norms.size() gradients may lie from
// the sum of their projections before the check fails. Each of the n sums rounds by at most
// e_i <= (world - 1) 2^-24 sum_q |g_qi|, and the signs are drawn after the gradients are fixed, so
// by Hoeffding the gap sum_i r_i e_i exceeds 12 sqrt(sum_i e_i^2) <= 12 (world - 1) 2^-24
// sum_q ||g_q||_2 with a chance below 2 exp(-72) = 1e-31 per projection: this bound. (The worst
// case, which would multiply it by sqrt(n), is not needed.) `norms` are the ranks' claimed L2
// norms; each counts at most twice their median, so that no rank widens the tolerance by
// claiming a huge norm (honest norms lie within 1.61x of their median; bench/README.md "audits").
double SumTolerance(const std::vector<double>& norms);

// The compute configuration string of a CPU rank: exact agreement is only expected between equal
// ones (e.g. "cpu/fp32/Haswell/t2/b0": backend, precision, BLAS kernel, threads, bucket floats).
std::string ComputeConfig(std::string_view backend, std::string_view precision,
                          std::string_view kernel, int threads, int64_t bucket_floats);

enum class Verdict { kExact, kWithinTolerance, kMismatch };
const char* ToString(Verdict v);

struct Comparison {
  Verdict verdict = Verdict::kMismatch;
  // The largest disagreement relative to the larger norm (norm and buckets); 0 when exact.
  double worst = 0;
  std::string detail;  // for people: what differed
};

// The default tolerance between two configurations: kFp32Tolerance when both are fp32 (CPU BLAS
// kernels, thread counts), kReducedTolerance when either ran tf32/bf16 GEMMs. Honest fp32
// gradients of different BLAS kernels or thread counts differ by up to 7.7e-3 of the norm over
// 10,000 batches (a ReLU whose input rounds to the other side of 0 flips a whole unit's
// gradient; the tail is heavy: 1.8e-3 was the worst of the first 2,000; bench/README.md
// "audits"), so the fp32 tolerance keeps a 4x margin; the reduced one is a guess until measured
// on GPUs.
inline constexpr double kFp32Tolerance = 3e-2;
inline constexpr double kReducedTolerance = 1e-1;
// Across configurations an accusation needs a disagreement this many times the tolerance (a
// rounding tail just past the tolerance is inconclusive, never a quarantine).
inline constexpr double kGrossFactor = 3;
double DefaultTolerance(std::string_view config_a, std::string_view config_b);

// Judges a recomputation against the claim. Same config: the hashes must be equal (kExact), else
// kMismatch. Equal hashes mean equal bytes, so where both carry projections those must be equal
// too (else kMismatch: the claimed projections are not of the committed gradient). Different
// configs: equal hashes are kExact; otherwise the norms and each bucket must differ by at most
// tolerance × max(norm) (kWithinTolerance), else kMismatch. A malformed commitment (hash not 64 hex
// digits, wrong sketch size, non-finite values) never matches.
Comparison Compare(const Commitment& claimed, const Commitment& recomputed, double tolerance);

// The draw (docs/audits.md "Audits"). At every step one ticket decides whether a rank is
// audited: the ticket of the rank Drawer() names for it, made with that rank's secret key, so the
// audited rank cannot predict it. Ranks that share a drawer share its ticket, so their audits fall
// on the same steps and run side by side: a job stalls for a recomputation on about as many steps
// as its highest rate asks for, not on the sum of its ranks' rates.
//
// A ticket is HMAC-SHA256(key, "draw:" step) read as an integer in [0, kTicketRange): a float
// holds it exactly, so it travels in the side band. The scheduler, which made the keys, can
// replay every ticket.
inline constexpr uint32_t kTicketRange = 1u << 24;
uint32_t DrawTicket(std::string_view key, int64_t step);
// Whether `ticket` audits a rank of `rate` (the chance per step): ticket < rate × kTicketRange.
bool TicketDraws(uint32_t ticket, double rate);

// The rank whose ticket decides at `step` whether rank q is audited: the first of q's possible
// auditors (`auditors_of_q`, rank numbers) in the cyclic order of ranks that starts at
// step mod world. So the drawer rotates over the ranks, and is never q nor a rank q's plan does
// not trust to audit it (its own account when another exists). -1 when q has no auditor.
int Drawer(int64_t step, int world, const std::vector<int>& auditors_of_q);

// Who recomputes each audited rank (out[k] for audited[k], one of auditors[audited[k]]): rounds
// of maximum bipartite matching, so the audits of a step run on different ranks wherever the
// lists allow it and no rank takes a second while another could take one. The candidates' order
// is rotated by `seed` (SketchSeed), so nobody knows its auditor before the commitments are in.
// Every rank computes the same answer. -1 for a rank with no auditor.
std::vector<int> AssignAuditors(std::string_view seed, const std::vector<int>& audited,
                                const std::vector<std::vector<int>>& auditors);

// The rank that arbitrates a dispute between `auditee` and `auditor` at a step: chosen from the
// other ranks by `seed` (SketchSeed), preferring ranks whose account is neither of theirs, then
// ranks on other accounts than the auditee's. -1 when there is no third rank. accounts[r] is rank
// r's account.
int ChooseArbiter(std::string_view seed, int auditee, int auditor,
                  const std::vector<std::string>& accounts);

// Ranks whose gradient norm is an outlier among the ranks': robust z-score
// |x - median| / (1.4826 · MAD) above `z` (with a floor on the MAD of 1e-6 × median so that
// identical norms do not flag rounding), and at least `min_deviation` × median away from the
// median. Needs at least 3 ranks, else none. A non-finite norm is always an outlier.
//
// Why the second gate: with four ranks the median and MAD of four norms are rough, and honest
// norms of 64-row micro-batches lie up to 61 % off their median (p50 20 %, p99 54 %;
// bench/README.md "audits"), so z alone flagged an honest rank on one step in six, each costing a
// recomputation. 0.6 still flags zeros (100 % off), a doubled gradient and anything below 0.4× the
// median at once; subtler faults are left to the random draw.
inline constexpr double kScreenMinDeviation = 0.6;
std::vector<int> NormOutliers(const std::vector<double>& norms, double z,
                              double min_deviation = kScreenMinDeviation);

}  // namespace shoal::audit
