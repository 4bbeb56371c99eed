// CSV reader: one sample per line, the label first, then the features; comma-separated numbers.
// Errors carry the physical line number (1-based, header and blank lines counted) and the 1-based
// column, since that is what an editor shows the user.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset_internal.h"

namespace shoal::dataset_internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  // Spreadsheet exports sometimes quote every field, numbers included.
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

void Split(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields->push_back(Trim(line.substr(start)));
      return;
    }
    fields->push_back(Trim(line.substr(start, comma - start)));
    start = comma + 1;
  }
}

// The whole field must be a number; from_chars rejects a leading '+', which people do write.
bool ParseNumber(std::string_view s, double* v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string Quote(std::string_view s) {
  if (s.empty()) return "an empty field";
  if (s.size() > 40) return "'" + std::string(s.substr(0, 37)) + "...'";
  return "'" + std::string(s) + "'";
}

}  // namespace

Result<Dataset> LoadCsv(const std::string& location, const DatasetLimits& limits) {
  ASSIGN_OR_RETURN(InputFile file, InputFile::Open(location));
  std::string text;
  RETURN_IF_ERROR(file.ReadAll(limits.max_bytes, &text));

  Dataset data;
  std::vector<std::string_view> fields;
  int64_t line_no = 0;
  int64_t columns = -1;      // expected per row; set by the header or the first data row
  int64_t columns_line = 0;  // where `columns` came from, for the ragged-row message
  int64_t max_rows = 0;      // rows that fit the limits once the width is known
  bool first_line = true;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    bool blank = true;
    for (char c : line) blank = blank && IsSpace(c);
    if (blank) continue;
    const std::string where = location + ": line " + std::to_string(line_no);
    Split(line, &fields);
    const auto width = static_cast<int64_t>(fields.size());
    double label = 0;
    if (first_line) {
      first_line = false;
      if (!ParseNumber(fields[0], &label)) {  // a header: names, not numbers
        columns = width;
        columns_line = line_no;
        continue;
      }
    }
    if (columns < 0) {
      columns = width;
      columns_line = line_no;
    }
    if (width != columns) {
      return InvalidArgument(where + ": found " + std::to_string(width) + " columns, expected " +
                             std::to_string(columns) + " as on line " +
                             std::to_string(columns_line) + " (every row must be equally long)");
    }
    if (width < 2) {
      return InvalidArgument(where + ": found 1 column, expected the label then at least one " +
                             "feature, separated by commas");
    }
    if (data.size == 0) {
      // Validate the width once, as the binary readers validate their headers.
      int64_t unused = 0;
      RETURN_IF_ERROR(CheckShape(location, 1, width - 1, sizeof(float), limits, &unused));
      max_rows = std::min(limits.max_samples,
                          limits.max_bytes / (static_cast<int64_t>(sizeof(float)) * (width - 1)));
      data.dim = width - 1;
    }
    if (data.size >= max_rows) {
      return InvalidArgument(where + ": more than " + std::to_string(max_rows) + " rows of " +
                             std::to_string(data.dim) + " features exceed DatasetLimits " +
                             "(max_samples " + std::to_string(limits.max_samples) + ", max_bytes " +
                             std::to_string(limits.max_bytes) + ")");
    }
    if (!ParseNumber(fields[0], &label)) {
      return InvalidArgument(where + ", column 1 (label): found " + Quote(fields[0]) +
                             ", expected a number");
    }
    if (!LabelOk(label, limits)) return LabelError(where + ", column 1", label, limits);
    data.labels.push_back(static_cast<int32_t>(label));
    for (int64_t j = 1; j < width; ++j) {
      double v = 0;
      if (!ParseNumber(fields[j], &v)) {
        return InvalidArgument(where + ", column " + std::to_string(j + 1) + ": found " +
                               Quote(fields[j]) + ", expected a number");
      }
      const auto f = static_cast<float>(v);
      if (!std::isfinite(f)) {
        return InvalidArgument(where + ", column " + std::to_string(j + 1) + ": found " +
                               Quote(fields[j]) + ", expected a finite float32 number");
      }
      data.features.push_back(f);
    }
    ++data.size;
  }
  if (data.size == 0) {
    return InvalidArgument(location + ": no data rows" +
                           (columns_line > 0 ? " after the header" : std::string(" (empty file)")) +
                           ", expected one sample per line: label, features...");
  }
  RETURN_IF_ERROR(FinishDataset(location, &data));
  return data;
}

}  // namespace shoal::dataset_internal
