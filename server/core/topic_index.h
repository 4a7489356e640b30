// TopicIndex<Sub>: the subscription index that a publish is matched against. It is a trie of
// topic levels: each node has its exact-level children (a hash map keyed by level), an optional
// '+' child and an optional '#' child, and the intrusive list of subscriptions whose filter ends
// at that node. The index is kept in both directions: Add() returns a Subscription handle that
// the caller keeps with its connection, so dropping every filter of a connection is
// O(its filters), with no search.
//
// Threading: a TopicIndex is owned by one worker thread (each worker indexes its own
// connections) and is not thread-safe; no method may run concurrently with another. The index
// never dereferences a Sub*; it stores and hands back the pointers it was given.
//
// Why hand-written: no Debian-packaged library offers an MQTT-style wildcard trie with symmetric
// matching (the publisher's topic may hold wildcards too) and O(1) removal by handle.
#pragma once

#include <cassert>
#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "server/core/topic.h"

namespace herald {

template <class Sub>
class TopicIndex {
  struct Node;

 public:
  // Opaque handle for one (filter, subscriber) pair. Owned by the index; valid until it is
  // passed to Remove() or the index is destroyed.
  class Subscription {
   public:
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    friend class TopicIndex;
    Subscription(Node* node, Sub* sub) : node_(node), sub_(sub) {}

    Node* node_;  // where the filter ends; holds the filter string
    Sub* sub_;
    Subscription* prev_ = nullptr;  // the node's list, in insertion order
    Subscription* next_ = nullptr;
  };

  // The subscribers of one filter, as handed to Match()'s callback: iterable, yielding Sub*
  // in the order they were added. Valid only during the callback.
  class SubscriberRange {
   public:
    class Iterator {
     public:
      using iterator_category = std::forward_iterator_tag;
      using value_type = Sub*;
      using difference_type = std::ptrdiff_t;
      using pointer = Sub* const*;
      using reference = Sub*;

      Sub* operator*() const { return TopicIndex::SubscriberOf(s_); }
      Iterator& operator++() {
        s_ = TopicIndex::NextOf(s_);
        return *this;
      }
      Iterator operator++(int) {
        Iterator old = *this;
        ++*this;
        return old;
      }
      bool operator==(const Iterator& o) const { return s_ == o.s_; }
      bool operator!=(const Iterator& o) const { return s_ != o.s_; }

     private:
      friend class SubscriberRange;
      explicit Iterator(const Subscription* s) : s_(s) {}
      const Subscription* s_;
    };

    Iterator begin() const { return Iterator(node_->head); }
    Iterator end() const { return Iterator(nullptr); }
    size_t size() const { return node_->sub_count; }

   private:
    friend class TopicIndex;
    explicit SubscriberRange(const Node* node) : node_(node) {}
    const Node* node_;
  };

  TopicIndex() = default;
  // Not copyable or movable: nodes point at their parent, the root included.
  TopicIndex(const TopicIndex&) = delete;
  TopicIndex& operator=(const TopicIndex&) = delete;
  ~TopicIndex() { FreeSubscriptions(&root_); }

  // Subscribes `sub` to `filter` and returns the handle that Remove() takes.
  // REQUIRES: `filter` passed ValidateTopic() (the depth of the trie, and so of the recursion
  // in Match() and in the destructor, is bounded by TopicLimits::max_levels).
  // The index does not de-duplicate: adding the same (filter, sub) twice yields two handles and
  // Match() then yields `sub` twice for that filter. Callers keep a connection's filters in a
  // set and never add one twice.
  Subscription* Add(std::string_view filter, Sub* sub) {
    assert(!filter.empty());
    Node* node = &root_;
    for (TopicLevelReader r(filter); !r.done();) {
      std::string_view level = r.Next();
      size_t end = static_cast<size_t>(level.data() - filter.data()) + level.size();
      node = GetOrAddChild(node, level, filter.substr(0, end));
    }
    auto* s = new Subscription(node, sub);
    s->prev_ = node->tail;
    (node->tail ? node->tail->next_ : node->head) = s;
    node->tail = s;
    if (node->sub_count++ == 0) ++filter_count_;
    ++subscription_count_;
    bytes_ += sizeof(Subscription);
    return s;
  }

  // Unsubscribes and deletes `s` in O(1), then frees the nodes this left without subscriptions
  // or children (O(filter depth)).
  // REQUIRES: `s` came from this index's Add() and was not removed yet; not called from inside
  // Match()'s callback.
  void Remove(Subscription* s) {
    Node* node = s->node_;
    (s->prev_ ? s->prev_->next_ : node->head) = s->next_;
    (s->next_ ? s->next_->prev_ : node->tail) = s->prev_;
    if (--node->sub_count == 0) --filter_count_;
    --subscription_count_;
    bytes_ -= sizeof(Subscription);
    delete s;
    Prune(node);
  }

  // Calls fn(std::string_view filter, const SubscriberRange& subs) once for every filter that
  // matches `topic` under the symmetric rule of TopicsMatch() (`topic` may hold '+' and '#'),
  // and that has at least one subscriber. `filter` points into the index: no string is built.
  //
  // Order: most specific first, level by level from the left: at each level the exact child's
  // matches come before the '+' child's, which come before the '#' child's. So a subscriber
  // holding `a/b/c`, `a/+/c`, `a/#` and `+/b/c` meets them in that order for `a/b/c`, and a
  // caller that delivers once per subscriber can keep the first filter it sees. Where the
  // topic's '+' fans out over exact children, their order is unspecified.
  //
  // Cost: a topic without wildcards walks only its own levels, with one hash lookup and a look
  // at the '+' and '#' children per level; no allocation. A '+' in the topic walks all exact
  // children at that level and a '#' the whole subtree below it.
  //
  // Each filter is visited at most once, by construction rather than with a visited set or
  // stamp: the walk consumes exactly one topic level per trie level, so a node at depth d can
  // be reached only from its parent at depth d - 1, which by induction is reached once; a
  // topic '#' ends the walk at its node (visiting the subtree once) instead of also descending,
  // and a '#' child is visited only from its parent and never descended into. Keeping no
  // per-call state in the index also keeps Match() const and re-entrant.
  //
  // REQUIRES: `topic` passed ValidateTopic(). fn must not modify the index.
  template <class Fn>
  void Match(std::string_view topic, Fn&& fn) const {
    MatchFrom(root_, topic, false, fn);
  }

  // Distinct filters, i.e. nodes that hold at least one subscription.
  size_t filter_count() const { return filter_count_; }
  size_t subscription_count() const { return subscription_count_; }
  // Trie nodes, not counting the root; 0 when the index is empty.
  size_t node_count() const { return node_count_; }
  // Estimate of the heap bytes held by nodes, their filter strings, child maps and
  // subscriptions, for GET /memory. Kept up to date as the index changes, so it is O(1). Map
  // entries are costed as libstdc++ lays them out; allocator overhead is not counted.
  size_t ApproxBytes() const { return bytes_; }

  // The filter `s` was added with. Stored once per node, shared by its subscriptions; valid as
  // long as `s` is.
  static std::string_view FilterOf(const Subscription* s) { return s->node_->filter; }
  static Sub* SubscriberOf(const Subscription* s) { return s->sub_; }

 private:
  // Keys view into the child's own `filter` (its last level), so a level is stored once. The
  // view stays valid because nodes live on the heap and their filter never changes.
  using ChildMap = std::unordered_map<std::string_view, std::unique_ptr<Node>>;

  struct Node {
    Node(Node* parent_node, std::string_view full_filter)
        : parent(parent_node), filter(full_filter) {}

    // The key under which the parent holds this node.
    std::string_view level() const {
      std::string_view f = filter;
      size_t slash = f.rfind('/');
      return slash == std::string_view::npos ? f : f.substr(slash + 1);
    }
    bool unused() const { return head == nullptr && !children && !plus && !hash; }

    Node* parent;
    std::string filter;                  // the full filter ending here; "" for the root
    std::unique_ptr<ChildMap> children;  // allocated on first use: most nodes are leaves
    std::unique_ptr<Node> plus;
    std::unique_ptr<Node> hash;
    Subscription* head = nullptr;
    Subscription* tail = nullptr;
    size_t sub_count = 0;
  };

  // Per-entry cost of ChildMap in libstdc++: a hash node holding the next pointer, the value
  // and the cached hash, plus about one bucket pointer per entry.
  static constexpr size_t kMapEntryBytes =
      sizeof(void*) + sizeof(typename ChildMap::value_type) + sizeof(size_t) + sizeof(void*);

  static const Subscription* NextOf(const Subscription* s) { return s->next_; }

  static size_t NodeBytes(const Node& node) {
    static const size_t kInlineCapacity = std::string().capacity();
    size_t cap = node.filter.capacity();
    return sizeof(Node) + (cap > kInlineCapacity ? cap + 1 : 0);
  }

  std::unique_ptr<Node> NewNode(Node* parent, std::string_view filter) {
    auto node = std::make_unique<Node>(parent, filter);
    ++node_count_;
    bytes_ += NodeBytes(*node);
    return node;
  }

  Node* GetOrAddChild(Node* node, std::string_view level, std::string_view filter) {
    std::unique_ptr<Node>* slot;
    if (level == kSingleLevelWildcard) {
      slot = &node->plus;
    } else if (level == kMultiLevelWildcard) {
      slot = &node->hash;
    } else {
      if (!node->children) {
        node->children = std::make_unique<ChildMap>();
        bytes_ += sizeof(ChildMap);
      }
      ChildMap& map = *node->children;
      auto it = map.find(level);
      if (it != map.end()) return it->second.get();
      std::unique_ptr<Node> child = NewNode(node, filter);
      Node* raw = child.get();
      map.emplace(raw->level(), std::move(child));
      bytes_ += kMapEntryBytes;
      return raw;
    }
    if (!*slot) *slot = NewNode(node, filter);
    return slot->get();
  }

  // Frees `node` and then each ancestor that is left with no subscription and no child.
  void Prune(Node* node) {
    while (node != &root_ && node->unused()) {
      Node* parent = node->parent;
      std::string_view level = node->level();
      --node_count_;
      bytes_ -= NodeBytes(*node);
      if (level == kSingleLevelWildcard) {
        parent->plus.reset();
      } else if (level == kMultiLevelWildcard) {
        parent->hash.reset();
      } else {
        ChildMap& map = *parent->children;
        auto it = map.find(level);
        assert(it != map.end());
        // Erase by iterator: the key views into the node being destroyed.
        map.erase(it);
        bytes_ -= kMapEntryBytes;
        if (map.empty()) {
          parent->children.reset();
          bytes_ -= sizeof(ChildMap);
        }
      }
      node = parent;
    }
  }

  void FreeSubscriptions(Node* node) {
    for (Subscription* s = node->head; s != nullptr;) {
      Subscription* next = s->next_;
      delete s;
      s = next;
    }
    if (node->children) {
      for (auto& entry : *node->children) FreeSubscriptions(entry.second.get());
    }
    if (node->plus) FreeSubscriptions(node->plus.get());
    if (node->hash) FreeSubscriptions(node->hash.get());
  }

  template <class Fn>
  static void Visit(const Node& node, Fn& fn) {
    if (node.sub_count > 0) fn(std::string_view(node.filter), SubscriberRange(&node));
  }

  // The topic ended with a '#': every filter at or below `node` matches.
  template <class Fn>
  static void VisitSubtree(const Node& node, Fn& fn) {
    Visit(node, fn);
    if (node.children) {
      for (const auto& entry : *node.children) VisitSubtree(*entry.second, fn);
    }
    if (node.plus) VisitSubtree(*node.plus, fn);
    if (node.hash) VisitSubtree(*node.hash, fn);
  }

  // `node` matched the topic's levels before `rest`; `rest` is what is left of the topic.
  // Levels may be empty (`a//b`, `a/`), so "every level was consumed" is `at_end`, not an
  // empty `rest`: after `a/` matched `a`, `rest` is the empty last level.
  template <class Fn>
  static void MatchFrom(const Node& node, std::string_view rest, bool at_end, Fn& fn) {
    if (at_end) {
      Visit(node, fn);
      if (node.hash) Visit(*node.hash, fn);  // `a/#` matches `a`
      return;
    }
    size_t slash = rest.find('/');
    std::string_view level = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    std::string_view tail = last ? std::string_view() : rest.substr(slash + 1);
    if (level == kMultiLevelWildcard) {
      VisitSubtree(node, fn);
      return;
    }
    if (node.children) {
      if (level == kSingleLevelWildcard) {
        for (const auto& entry : *node.children) MatchFrom(*entry.second, tail, last, fn);
      } else {
        auto it = node.children->find(level);
        if (it != node.children->end()) MatchFrom(*it->second, tail, last, fn);
      }
    }
    if (node.plus) MatchFrom(*node.plus, tail, last, fn);
    if (node.hash) Visit(*node.hash, fn);  // swallows this level and the rest
  }

  Node root_{nullptr, std::string_view()};
  size_t filter_count_ = 0;
  size_t subscription_count_ = 0;
  size_t node_count_ = 0;
  size_t bytes_ = 0;
};

}  // namespace herald
