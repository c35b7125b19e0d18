// RuleWindows: the per-key sliding-window state of every declarative rule, and the evaluation
// that turns it into signals.
//
// State for a (rule, key) is created only by an event that matches the filter of one of its
// non-guard conditions (a guard has only at_most); after that, every event of the key updates
// every condition it matches. So an address that only ever logs in successfully
// costs nothing, whatever ratio denominators the rules have.
//
// State lives in one table per key kind (KeyTable), a record per key with the key's state in
// each rule of the kind: an event makes one lookup per key kind, not one per rule.
//
// Expiry is by event time in two generations per rule: state untouched for one window moves to
// the old generation on rotation, and is dropped at the next rotation unless touched again.
// Memory is thus bounded by the keys active in the last two windows.
//
// Owned by one shard; not thread-safe.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "detect/key_presence.h"
#include "detect/key_state.h"
#include "detect/key_table.h"
#include "detect/shared_sample.h"
#include "detect/signal.h"

namespace authwatch {

class RuleWindows {
 public:
  explicit RuleWindows(std::shared_ptr<const RuleSet> rules);
  // Adopts a reloaded rule set. State of rules whose name, key, window and conditions are
  // unchanged is kept; other rules start empty.
  void SetRules(std::shared_ptr<const RuleSet> rules);

  // Updates the windows with one event and appends the signals of rules that fire.
  void Process(const EventContext& ctx, std::vector<Signal>* out);

  // Keys with live state, per key kind (for metrics), and an estimate of their memory.
  std::array<size_t, kKeyKindCount> KeysByKind() const;
  size_t MemoryBytes() const;
  // Test hook: with the presence filters off every lookup probes the tables (the reference the
  // filtered path is tested against).
  void set_presence_filter(bool on) { presence_on_ = on; }

  // Bounded memory under a flood (0: no budget). Over the budget, a failed login does not
  // create new state for a fine-grained key (account, ip, account_ip): a flood from millions
  // of addresses or against millions of made-up accounts is then counted by the network-keyed
  // rules (prefix, asn), whose keys are few. State that exists keeps counting; a successful
  // login always creates the state it needs (it carries the takeover signal).
  void set_memory_budget(size_t bytes) { budget_bytes_ = bytes; }
  uint64_t shed() const { return shed_; }  // failed logins that created no state, per rule

 private:
  friend class StateCodec;  // snapshots (engine/state/state_codec.h)
  static constexpr size_t kMaxSamples = KeyState::kMaxSamples;
  // A rule's live states by generation, outside the tables: what snapshots and reloads carry.
  using StateMap = absl::flat_hash_map<uint64_t, KeyState::Ptr>;
  struct Generations {
    StateMap current;
    StateMap previous;
    EventTimeMs start_ms = 0;
  };
  struct PerRule {
    const CompiledRule* rule = nullptr;
    int64_t bucket_width_ms = 0;
    // The bucket of the last event's time and the times it spans, [bucket_start_ms,
    // bucket_end_ms): events mostly come in time order, so the next one usually falls in the
    // same bucket and needs no 64-bit division.
    int64_t bucket = 0;
    EventTimeMs bucket_start_ms = 0, bucket_end_ms = 0;
    EventTimeMs generation_start_ms = 0;
    // Generations: a state stamped `generation` (in its record) is current, one stamped
    // generation - 1 is previous, anything older is dead (treated as absent, freed a slice per
    // event). The lists name the records whose state in this rule was stamped current, or
    // previous: a state is listed once per generation it is touched in, so live counts are exact.
    uint32_t generation = 2;  // a new state's 0 is dead
    std::vector<KeyRecord*> current_list;
    std::vector<KeyRecord*> previous_list;
    size_t moved = 0;      // previous_list entries touched again (now in current_list)
    size_t allocated = 0;  // states of this rule, live or dead but not yet freed
    uint32_t slot = 0;     // this rule's slot in its key kind's records
    KeyStateLayout layout;    // where each condition's windows are in a KeyState
    std::vector<bool> guard;  // per condition: only at_most, does not create state
    std::vector<std::string> condition_text;  // DescribeCondition, per condition (for reasons)
    std::string window_text;                  // FormatDuration(window)
    // Whether an event of each result (success, failure) can create state for the rule: if
    // not, and its key has no state, the rule has nothing to do with the event at all.
    bool may_create[2] = {true, true};
    // Every filter of the rule (trigger, conditions, ratio denominators) asks only the event's
    // fact bits: what the rule matches of an event is then in the event's FactsRow.
    bool on_facts = false;
  };
  // What one rule's filters match of an event: condition bits, ratio denominator bits, trigger.
  struct RuleMatch {
    uint32_t matched = 0;
    uint32_t matched_of = 0;
    bool on = false;
    bool creates = false;  // a matched condition that counts (not only an at_most guard)
    // Whether the event touches the rule at all: else its counts expire by time alone.
    bool Any() const { return matched != 0 || matched_of != 0 || on; }
  };
  // Per set of fact bits, worked out on its first event: the rules an event with those facts
  // may touch (every rule not on_facts, and the on_facts ones it matches), in rule order, and
  // what the on_facts ones match. Most events then visit a few rules rather than all of them.
  struct FactsRow {
    std::vector<uint32_t> visit;  // per_rule_ indices, ascending
    std::vector<RuleMatch> match;  // per rule; meaningful for on_facts rules
  };
  const FactsRow& RowFor(uint32_t facts, const EventContext& ctx);
  RuleMatch MatchRule(const PerRule& pr, const EventContext& ctx) const;
  // Whether a state last touched in `generation` of the rule is live (current or previous).
  static bool Live(const PerRule& pr, uint32_t generation) { return generation + 1 >= pr.generation; }
  // Per key kind, what one event has looked up so far.
  struct Probe {
    bool hashed = false;
    bool looked = false;  // record is the table's answer
    int8_t present = -1;  // whether the key may have state in any rule of the kind; -1: not asked
    size_t hash = 0;
    KeyRecord* record = nullptr;
  };

  // The key's live state in the rule (made if `create`), or null.
  KeyState* Find(PerRule& pr, Probe& probe, uint64_t key, bool create);
  // Every rule's live states, out of the tables (which are left empty).
  std::vector<Generations> TakeAll();
  // Replaces every rule's states with `rules` (one per rule of per_rule_).
  void Install(std::vector<Generations>&& rules);
  // Frees every dead state and every table.
  void Clear();
  // A rule's live states of one generation, sorted by key (for snapshots).
  std::vector<std::pair<uint64_t, const KeyState*>> LiveStates(const PerRule& pr, bool current) const;
  // Rebuilds the presence filter of a key kind from the live keys of its rules.
  void RebuildPresence(KeyKind kind);
  // Turns the rule's generations once its window has passed (Process asks every rule when the
  // earliest turn of them all, next_turn_ms_, is due).
  void TurnGenerations(PerRule& pr, EventTimeMs t);
  static int64_t BucketAt(PerRule& pr, EventTimeMs t) {
    if (t < pr.bucket_start_ms || t >= pr.bucket_end_ms) {
      pr.bucket = SlidingCounter::BucketOf(t, pr.bucket_width_ms);
      pr.bucket_start_ms = pr.bucket * pr.bucket_width_ms;
      pr.bucket_end_ms = pr.bucket_start_ms + pr.bucket_width_ms;
    }
    return pr.bucket;
  }
  // A generation that ends is released a slice per event rather than at once: a generation of
  // an hour-long window can hold 10^6 keys, and freeing them in one go stalls the stream for
  // tens of milliseconds. Its dead states are already absent to every lookup and snapshot.
  void Bury(PerRule& pr, std::vector<KeyRecord*>&& list);
  void FreeSome(size_t budget);
  // One list entry of `pr` goes: frees the state if dead, and the record with its last entry.
  void ReleaseEntry(PerRule& pr, KeyRecord* r);
  bool Evaluate(const PerRule& pr, const KeyState& st, EventTimeMs now, std::vector<double>* values) const;
  void Fire(const PerRule& pr, KeyState& st, const EventContext& ctx, const std::vector<double>& values,
            std::vector<Signal>* out);

  std::shared_ptr<const RuleSet> rules_;
  std::vector<PerRule> per_rule_;
  std::array<KeyTable, kKeyKindCount> tables_;
  std::array<std::vector<uint32_t>, kKeyKindCount> kind_rules_;  // per_rule_ indices by slot
  std::vector<double> values_;  // scratch for Evaluate, reused across events
  struct Touch {  // a state an event updates, found in Process's first pass
    PerRule* pr;
    KeyState* st;
    uint32_t matched;     // condition filters the event matches (bit per condition)
    uint32_t matched_of;  // ratio denominators it matches
    bool on;              // it matches the rule's trigger
  };
  std::vector<Touch> touches_;  // scratch for Process, reused across events
  size_t budget_bytes_ = 0;
  bool over_budget_ = false;   // re-measured every 1024 events
  uint32_t until_measure_ = 0;
  uint64_t shed_ = 0;
  // Per key kind, the keys that may have state in any rule of that kind (see KeyPresence).
  std::array<KeyPresence, kKeyKindCount> presence_;
  bool presence_stale_ = true;  // rebuild every filter before the next event (new rules, restore)
  EventTimeMs next_turn_ms_ = INT64_MIN;  // the earliest generation turn of any rule
  bool presence_on_ = true;   // set_presence_filter
  struct Buried {  // an ended generation's list, being released
    uint32_t rule;
    std::vector<KeyRecord*> records;
    size_t next = 0;
  };
  std::deque<Buried> graveyard_;
  absl::flat_hash_map<uint32_t, FactsRow> facts_rows_;  // by fact bits; cleared by SetRules
};

// A fingerprint of what a rule's state means (key, window, conditions), to keep state across a
// reload only when it still fits.
uint64_t RuleStateFingerprint(const CompiledRule& r);
// Text of a condition for reasons and evidence: "count(result=failure)".
std::string DescribeCondition(const Condition& c);
std::string DescribeFilter(const Filter& f);
std::string FormatDuration(int64_t ms);

}  // namespace authwatch
