// Diagnostics of the rule loader, in the manner of a compiler: a code, a fixed message, the
// position, the entry it belongs to, and the source line with a caret. All of a load's
// diagnostics are collected in one pass; errors make the load fail, warnings do not.
#pragma once

#include <string>
#include <vector>

namespace authwatch {

enum class Severity : uint8_t { kError, kWarning };

// Codes are a contract (tests and users grep for them): add, never renumber.
enum class DiagCode : uint16_t {
  kYamlSyntax = 100,        // the file is not valid YAML
  kNotASequence = 101,      // a rule file must be a list of entries
  kUnknownEntry = 102,      // an entry is none of rule, list, detector, profile, policy
  kMissingKey = 103,        // a required key is absent
  kInvalidValue = 104,      // a value of the wrong type or outside its set
  kInvalidDuration = 105,   // a duration that does not parse
  kDuplicateName = 106,     // two entries of one kind with one name
  kUnknownList = 107,       // a filter or policy names a list that does not exist
  kListTypeMismatch = 108,  // e.g. an asn list used on the ip field
  kNoThreshold = 109,       // a condition with neither at_least nor at_most
  kCannotRead = 110,        // a rule file or directory cannot be read
  kNoRules = 111,           // the paths hold no rule and no detector: nothing would be decided
  kEmptyFile = 112,         // a rule file of zero bytes (truncated, or still being written)
  kUnknownKey = 200,        // warning: a key the loader does not know (typo?)
  kUnusedList = 201,        // warning: a list no rule uses
};

struct Diagnostic {
  Severity severity = Severity::kError;
  DiagCode code = DiagCode::kInvalidValue;
  std::string file;
  int line = 0;    // 1-based; 0 when the file itself is meant
  int column = 0;  // 1-based
  std::string entry;    // "rule 'brute-force-ip'", "" when outside any entry
  std::string message;  // the fixed message of the code, then the specifics
  std::string source_line;

  // "file:line:col: error[E105] rule 'x': message\n  12 | source\n     |     ^"
  std::string Format() const;
};

struct Diagnostics {
  std::vector<Diagnostic> items;
  int errors() const;
  int warnings() const;
  std::string FormatAll() const;
};

}  // namespace authwatch
