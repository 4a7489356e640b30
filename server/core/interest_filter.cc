#include "server/core/interest_filter.h"

#include <functional>

#include "server/core/topic.h"

namespace herald {

InterestFilter::InterestFilter() : exact_(new std::atomic<uint32_t>[kSlots]) {
  for (size_t i = 0; i < kSlots; ++i) exact_[i].store(0, std::memory_order_relaxed);
}

size_t InterestFilter::Slot(std::string_view topic) {
  return std::hash<std::string_view>{}(topic) & (kSlots - 1);
}

void InterestFilter::Change(std::string_view filter, int delta) {
  // Counts are per subscription, so they go back to zero exactly when the
  // last subscriber of a slot leaves. seq_cst: see the threading note.
  if (HasWildcard(filter)) {
    wildcard_filters_.fetch_add(delta);
  } else {
    exact_[Slot(filter)].fetch_add(static_cast<uint32_t>(delta));
  }
}

bool InterestFilter::MayMatch(std::string_view topic) const {
  if (wildcard_filters_.load() > 0 || HasWildcard(topic)) return true;
  return exact_[Slot(topic)].load() != 0;
}

}  // namespace herald
