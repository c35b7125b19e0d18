// The JSON form of a decision, one object per line (replay output, the Kafka decisions topic):
//   {"decision_id":"...","ts":"2026-11-02T10:00:27.000Z",
//    "subject":{"type":"ip","value":"45.155.205.23"},"action":"block","scope":"all",
//    "ttl_s":3600,"expires":"2026-11-02T11:00:27.000Z","rule":"brute-force-ip-fast",
//    "severity":"high","offence":1,"dry_run":false,
//    "reasons":["count(result=failure) = 10 >= 10 within 10m for ip 45.155.205.23"],
//    "evidence":{...}}
// unblock records carry ttl_s 0 and no "expires". Dry runs add "would_action".
#pragma once

#include <string>

#include "decide/decision.h"

namespace authwatch {

void AppendDecisionJson(const Decision& d, std::string* out);

}  // namespace authwatch
