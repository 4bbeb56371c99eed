// Training data: readers for IDX (MNIST family, plain or gzip), NumPy .npy and CSV, the feature
// normalization the trainer applies, and batch gathering.
//
// Every reader validates the file's header against DatasetLimits before allocating anything sized
// by it, so a hostile or corrupt file yields a Status, never a huge allocation or a crash. Buffers
// grow with the bytes actually read, so a header that lies about its size costs at most the real
// data plus one 16 MiB read chunk.
//
// Thread-compatibility: all functions here are free of shared state; distinct Datasets may be
// loaded and normalized concurrently from different threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/spec/job_spec.h"  // DataFormat
#include "common/status.h"

namespace shoal {

// An in-memory labelled dataset for classification.
struct Dataset {
  int64_t size = 0;               // number of samples
  int64_t dim = 0;                // features per sample
  std::vector<float> features;    // size × dim, row-major
  std::vector<int32_t> labels;    // size, each in [0, num_classes)
  int32_t num_classes = 0;        // max label + 1
  bool integer_features = false;  // true when the source was uint8 (pixel data)
  // Labels per sample: 1, or a token window's length (labels then holds size x label_width).
  int64_t label_width = 1;
};

// Upper bounds a file must respect; checked against header values before any allocation.
struct DatasetLimits {
  int64_t max_samples = 100'000'000;  // samples per file
  int64_t max_dim = 1 << 20;          // features per sample (after flattening)
  // Bytes of the loaded features (size × dim × sizeof(float)), of one file's raw data payload, and
  // of a CSV file's text (after gzip decompression, where applicable).
  int64_t max_bytes = 8LL << 30;
  int32_t max_classes = 1 << 20;  // every label must be < max_classes
};

// Loads a dataset from `location`.
//  - kIdx: `location` is a prefix P such that P-images-idx3-ubyte[.gz] and P-labels-idx1-ubyte[.gz]
//    exist (e.g. /usr/share/datasets/fashion-mnist/train; "P-images.idx3-ubyte" is accepted too),
//    or the path of an images file whose labels file is named by replacing "images-idxN" with
//    "labels-idx1". Images: dtype 0x08 (uint8) or 0x0D (float32), ≥ 2 dims, dims after the first
//    flattened. Labels: uint8, 1-D. Gzip is detected by content, not by name.
//  - kNpy: `location` is P.npy, P.x.npy, P.y.npy or the prefix P; features are P.x.npy (≥ 2-D,
//    flattened after dim 0; |u1 <f4 <f8 <i4 <i8; C order) and labels P.y.npy (shape (N,) or (N, 1);
//    |u1 <i4 <i8, or <f4 <f8 holding integral values). Format versions 1.0, 2.0 and 3.0.
//  - kCsv: `location` is a .csv (or .csv.gz) file, one sample per line, label in the first column,
//    features after it. A first line whose first field is not a number is a header and is skipped.
//    Every row must have the same number of columns; blank lines and CRLF line ends are accepted.
//  - kAuto: ".csv"/".csv.gz" → csv; ".npy" or an existing P.x.npy → npy; an existing
//    P-images-idx3-ubyte[.gz] or a name containing "idx" → idx.
// Labels must be integral and in [0, max_classes); features must be finite; a dataset has ≥ 1
// sample and ≥ 1 feature.
// Returns the dataset, NotFound when a needed file does not exist, or InvalidArgument naming the
// file (and, for CSV, the line and column) with what was found and what was expected.
Result<Dataset> LoadDataset(const std::string& location, DataFormat format,
                            const DatasetLimits& limits = {});

// Token windows for a language model (model.kind gpt) from llm.c token shards
// (data/token_shards.h): `location` is a shard file, or a prefix P whose shards are P_000000.bin,
// P_000001.bin, ... (what `shoal tokenize --out DIR` writes as DIR/train and DIR/val), read in
// order and concatenated. Sample i is the window of tokens [i*T, i*T + T) as features (ids as
// floats) and the next tokens [i*T + 1, i*T + T + 1) as its T labels; floor((n - 1) / T) samples.
// NotFound when neither exists; InvalidArgument naming the file for a malformed shard, a token
// >= vocab_size, or fewer than T + 1 tokens in all.
Result<Dataset> LoadTokenWindows(const std::string& location, int context_length, int vocab_size,
                                 const DatasetLimits& limits = {});

// The transform ApplyNormalization applies: x → (x · (scale_255 ? 1/255 : 1) − mean) / std.
struct FeatureStats {
  double mean = 0;
  double std = 1;
  bool scale_255 = false;
};

// Statistics of `train` for normalization: scale_255 = train.integer_features; one scalar mean and
// (population) standard deviation over all features after that scaling. A std of 0 (constant
// features) or an empty dataset gives std 1, so the transform stays finite.
FeatureStats ComputeStats(const Dataset& train);

// Applies `stats` (computed on the train set) in place to `data`, train or test alike, so both see
// the same transform; afterwards data->integer_features is false.
void ApplyNormalization(const FeatureStats& stats, Dataset* data);

// Batch assembly: for i in [begin, end), copies the features of sample indices[i] into row
// (i − begin) of `x` (caller-allocated, (end − begin) × data.dim floats) and its label_width
// labels into y[(i − begin) × label_width, ...). Preconditions (asserted): 0 ≤ begin ≤ end ≤ indices.size() and every used index is
// in [0, data.size).
void GatherBatch(const Dataset& data, const std::vector<int64_t>& indices, int64_t begin,
                 int64_t end, float* x, int32_t* y);

}  // namespace shoal
