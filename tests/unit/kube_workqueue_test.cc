#include <gtest/gtest.h>

#include <thread>

#include "common/clock.h"
#include "kube/workqueue.h"

namespace slotkeeper::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

WorkQueueOptions fastOptions() {
  WorkQueueOptions options;
  options.base_delay = milliseconds(10);
  options.max_delay = seconds(1);
  return options;
}

TEST(WorkQueue, KeysAreServedInOrder) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  queue.add("b");
  EXPECT_EQ(queue.len(), 2u);
  EXPECT_EQ(queue.tryGet(), "a");
  EXPECT_EQ(queue.tryGet(), "b");
  EXPECT_EQ(queue.tryGet(), std::nullopt);
}

TEST(WorkQueue, AddFirstJumpsTheQueueOnceAndPullsADelayedKeyForward) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  queue.add("b");
  queue.add("c");
  queue.addFirst("c");
  queue.addAfter("d", seconds(30));
  queue.addFirst("d");
  EXPECT_EQ(queue.len(), 4u);
  EXPECT_EQ(queue.delayedLen(), 0u);
  EXPECT_EQ(queue.tryGet(), "d");
  EXPECT_EQ(queue.tryGet(), "c");
  EXPECT_EQ(queue.tryGet(), "a");
  EXPECT_EQ(queue.tryGet(), "b");
  EXPECT_EQ(queue.tryGet(), std::nullopt);
}

TEST(WorkQueue, AKeyAddedFirstWhileProcessingIsNextAfterDone) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  ASSERT_EQ(queue.tryGet(), "a");
  queue.add("b");
  queue.addFirst("a");
  EXPECT_EQ(queue.len(), 1u) << "not handed out twice";
  queue.done("a");
  EXPECT_EQ(queue.tryGet(), "a");
  EXPECT_EQ(queue.tryGet(), "b");
  queue.done("a");
  queue.done("b");
  EXPECT_EQ(queue.tryGet(), std::nullopt);
}

TEST(WorkQueue, AKeyQueuedTwiceWhileWaitingIsProcessedOnce) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  queue.add("b");
  queue.add("a");
  EXPECT_EQ(queue.len(), 2u);
  EXPECT_EQ(queue.tryGet(), "a");
  EXPECT_EQ(queue.tryGet(), "b");
  EXPECT_EQ(queue.tryGet(), std::nullopt);
}

TEST(WorkQueue, AKeyReAddedWhileProcessingIsProcessedAgainAfterDone) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  ASSERT_EQ(queue.tryGet(), "a");
  EXPECT_TRUE(queue.isProcessing("a"));
  queue.add("a");
  queue.add("a");
  // Not handed out again while the first worker still holds it.
  EXPECT_EQ(queue.tryGet(), std::nullopt);
  queue.done("a");
  EXPECT_FALSE(queue.isProcessing("a"));
  EXPECT_EQ(queue.tryGet(), "a");
  queue.done("a");
  EXPECT_EQ(queue.tryGet(), std::nullopt);
}

TEST(WorkQueue, DoneWithoutReAddDropsTheKey) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  ASSERT_EQ(queue.tryGet(), "a");
  queue.done("a");
  EXPECT_EQ(queue.len(), 0u);
  EXPECT_EQ(queue.tryGet(), std::nullopt);
}

TEST(WorkQueue, AddAfterWaitsForTheClock) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("a", seconds(5));
  EXPECT_EQ(queue.delayedLen(), 1u);
  EXPECT_EQ(queue.nextDelayedAt(), clock.now() + seconds(5));
  clock.advance(seconds(4));
  EXPECT_EQ(queue.tryGet(), std::nullopt);
  clock.advance(seconds(1));
  EXPECT_EQ(queue.tryGet(), "a");
  EXPECT_EQ(queue.delayedLen(), 0u);
}

TEST(WorkQueue, TheEarlierDeadlineForAKeyWins) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("a", seconds(10));
  queue.addAfter("a", seconds(2));
  queue.addAfter("a", seconds(7));
  EXPECT_EQ(queue.delayedLen(), 1u);
  clock.advance(seconds(2));
  EXPECT_EQ(queue.tryGet(), "a");
}

TEST(WorkQueue, AddAfterZeroIsImmediate) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("a", seconds(0));
  EXPECT_EQ(queue.tryGet(), "a");
}

TEST(WorkQueue, DelayedKeyAlreadyQueuedIsNotDuplicated) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  queue.addAfter("a", seconds(1));
  clock.advance(seconds(1));
  EXPECT_EQ(queue.tryGet(), "a");
  EXPECT_EQ(queue.tryGet(), std::nullopt);
}

TEST(WorkQueue, RateLimitedRequeueBacksOffExponentiallyPerKeyUpToMax) {
  FakeClock clock;
  WorkQueue queue(clock, fastOptions());
  const std::vector<milliseconds> expected = {
      milliseconds(10),  milliseconds(20),   milliseconds(40),
      milliseconds(80),  milliseconds(160),  milliseconds(320),
      milliseconds(640), milliseconds(1000), milliseconds(1000)};
  for (size_t i = 0; i < expected.size(); ++i) {
    queue.addRateLimited("a");
    EXPECT_EQ(queue.numRequeues("a"), static_cast<int>(i + 1));
    clock.advance(expected[i] - milliseconds(1));
    EXPECT_EQ(queue.tryGet(), std::nullopt) << "attempt " << i;
    clock.advance(milliseconds(1));
    ASSERT_EQ(queue.tryGet(), "a") << "attempt " << i;
    queue.done("a");
  }
  // Another key has its own count.
  queue.addRateLimited("b");
  clock.advance(milliseconds(10));
  EXPECT_EQ(queue.tryGet(), "b");
}

TEST(WorkQueue, ForgetResetsTheBackoff) {
  FakeClock clock;
  WorkQueue queue(clock, fastOptions());
  queue.addRateLimited("a");
  queue.addRateLimited("a");
  queue.addRateLimited("a");
  EXPECT_EQ(queue.numRequeues("a"), 3);
  queue.forget("a");
  EXPECT_EQ(queue.numRequeues("a"), 0);
  clock.advance(milliseconds(10));
  EXPECT_EQ(queue.tryGet(),
            "a");  // the first (10ms) deadline of the earlier adds wins
  queue.done("a");
  queue.addRateLimited("a");
  clock.advance(milliseconds(10));
  EXPECT_EQ(queue.tryGet(), "a");
}

TEST(WorkQueue, ShutDownDrainsReadyKeysThenReportsDone) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  queue.addAfter("later", seconds(1));
  queue.shutDown();
  EXPECT_TRUE(queue.shuttingDown());
  queue.add("b");  // ignored
  EXPECT_EQ(queue.get(), "a");
  EXPECT_EQ(queue.get(), std::nullopt);  // does not block
  clock.advance(seconds(1));
  EXPECT_EQ(queue.tryGet(), std::nullopt);  // delayed keys were dropped
}

TEST(WorkQueue, GetForGivesUpAfterTheTimeout) {
  FakeClock clock;
  WorkQueue queue(clock);
  EXPECT_EQ(queue.getFor(milliseconds(0)), std::nullopt);
  queue.add("a");
  EXPECT_EQ(queue.getFor(milliseconds(0)), "a");
}

TEST(WorkQueue, BlockedGetWakesForAddAndShutdown) {
  FakeClock clock;
  WorkQueue queue(clock);
  std::optional<std::string> first, second;
  std::thread worker([&] {
    first = queue.get();
    if (first) queue.done(*first);
    second = queue.get();
  });
  queue.add("a");
  // Wait (without sleeping) until the worker took "a", then shut down to
  // release it.
  while (queue.len() != 0 || queue.isProcessing("a")) std::this_thread::yield();
  queue.shutDown();
  worker.join();
  EXPECT_EQ(first, "a");
  EXPECT_EQ(second, std::nullopt);
}

TEST(WorkQueue, NoKeyIsHandedToTwoWorkersAtOnce) {
  FakeClock clock;
  WorkQueue queue(clock);
  constexpr int kAdds = 2000;
  std::atomic<int> in_flight_a{0};
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = queue.get()) {
        if (in_flight_a.fetch_add(1) != 0) overlap = true;
        processed.fetch_add(1);
        in_flight_a.fetch_sub(1);
        queue.done(*key);
      }
    });
  }
  for (int i = 0; i < kAdds; ++i) queue.add("a");
  while (queue.len() != 0 || queue.isProcessing("a")) std::this_thread::yield();
  queue.shutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GE(processed.load(), 1);
  EXPECT_LE(processed.load(), kAdds);
}

}  // namespace
}  // namespace slotkeeper::kube
