// The space namespace. A space's channels live under a reserved first level,
// `$space/<space>/<channel>`, as MQTT keeps `$`-topics apart: plain filters
// (`#`, `+/orders`, `shop/orders`) never reach them (DecideDelivery refuses a
// space event through a filter outside its space), and plain subscribers and
// publishers cannot name a `$` topic at all (CheckNotReserved): they use the
// space form (`space` + `channel`) instead. Presence of a space connection
// travels on `$space/<space>/@CONNECTION@/<clid>`, so it is seen only inside
// the space. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "server/util/status.h"

namespace herald {

inline constexpr std::string_view kSpacePrefix = "$space/";

// True when `topic` starts with '$': reserved for the server's namespaces.
inline bool IsReservedTopic(std::string_view topic) {
  return !topic.empty() && topic.front() == '$';
}
// 400 with a reason naming the space form, for a topic or filter that a
// client wrote itself; Ok otherwise.
Status CheckNotReserved(std::string_view topic);
// A space name: non-empty, no '/', '+', '#', and not starting with '$'.
bool IsValidSpaceName(std::string_view space);

// `$space/<space>/<channel>`. REQUIRES: IsValidSpaceName(space).
std::string SpaceTopic(std::string_view space, std::string_view channel);
// The space of a `$space/<space>/...` topic or filter; empty for anything else.
std::string_view SpaceOfTopic(std::string_view topic);

// Presence. A plain connection's clid is counted under `clid` and announced
// on `@CONNECTION@/<clid>`; a space connection's under (and on)
// `$space/<space>/@CONNECTION@/<clid>`.
std::string PresenceKey(std::string_view clid, std::string_view space);
std::string PresenceTopicOfKey(std::string_view key);
// The presence key whose count an `available` event reports for a filter
// (`@CONNECTION@/x` → "x", `$space/s/@CONNECTION@/x` → itself; the level
// after the prefix is taken as it is, `+` and `#` included); empty when the
// filter is not a presence filter or has more levels after the prefix.
std::string_view PresenceKeyWatched(std::string_view filter);
// True for `@CONNECTION@/...` and `$space/<s>/@CONNECTION@/...`, wildcards included.
bool IsPresenceFilter(std::string_view filter);

}  // namespace herald
