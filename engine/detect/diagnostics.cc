#include "detect/diagnostics.h"

#include <algorithm>

#include "core/strings.h"

namespace authwatch {

std::string Diagnostic::Format() const {
  const char* kind = severity == Severity::kError ? "error" : "warning";
  const char letter = severity == Severity::kError ? 'E' : 'W';
  std::string out = file;
  if (line > 0) Append(&out, ":", line, ":", column);
  Append(&out, ": ", kind, "[", std::string(1, letter), static_cast<int>(code), "] ");
  if (!entry.empty()) Append(&out, entry, ": ");
  Append(&out, message);
  if (line > 0 && !source_line.empty()) {
    const std::string number = std::to_string(line);
    Append(&out, "\n ", number, " | ", source_line, "\n ", std::string(number.size(), ' '),
                    " | ", std::string(static_cast<size_t>(std::max(0, column - 1)), ' '), "^");
  }
  return out;
}

int Diagnostics::errors() const {
  return static_cast<int>(std::count_if(items.begin(), items.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kError;
  }));
}

int Diagnostics::warnings() const { return static_cast<int>(items.size()) - errors(); }

std::string Diagnostics::FormatAll() const {
  std::string out;
  for (const auto& d : items) Append(&out, d.Format(), "\n");
  return out;
}

}  // namespace authwatch
