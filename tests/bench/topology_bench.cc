// Topology step benchmark: how long the engine takes for the steps that are mostly waiting on
// the cluster bus, on fresh real redis-server processes (127.x addresses), timed from the moment
// every server answers PING:
//   - create 3 masters with 1 replica each,
//   - add a 4th master to a 3-master cluster holding 0 keys (meet + rebalance),
//   - attach 4 replicas, one per master,
// each beside redis-cli doing the same job on its own fresh servers. redis-cli returns before
// the cluster serves (a master that just got its first slots, or just joined, answers
// CLUSTERDOWN until Redis's rejoin delay has passed), so for redis-cli the time until every node
// reports cluster_state:ok is printed too; the engine returns only once the nodes serve.
// Every outcome (masters, slot split, replicas, cluster_state) is checked; a wrong one exits 1.
// Usage: sk_bench_topology [runs] [--age SECONDS] [--verbose]   (default: 1 run, age 0)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "engine/converge.h"
#include "redis/hiredis_client.h"
#include "redis/support/redis_fixture.h"
#include "topology/plan.h"

namespace slotkeeper::test {
namespace {

using Seconds = std::chrono::duration<double>;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "bench: %s: %s\n", what.c_str(), s.toString().c_str());
  std::exit(1);
}

void check(const std::string& what, const Status& s) {
  if (!s.isOk()) die(what, s);
}

double since(SteadyClock::time_point start) { return Seconds(SteadyClock::now() - start).count(); }

std::vector<std::string> addressesOf(const RedisServers& servers, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(servers.address(i));
  return out;
}

topology::DesiredShape shapeOf(const std::vector<std::string>& addresses, int masters,
                               int replicas) {
  topology::DesiredShape shape{masters, replicas, {}};
  for (const auto& a : addresses) shape.nodes.push_back({a, "", -1});
  return shape;
}

void converge(redis::NodeConnector& connector, const topology::DesiredShape& shape,
              const std::string& what) {
  RealClock clock;
  auto report = engine::converge(connector, clock, shape, engine::ConvergeOptions{});
  if (!report.isOk()) die(what, report.status());
}

// Polls until every node reports cluster_state:ok; the seconds it took.
double waitServing(redis::NodeConnector& connector, const std::vector<std::string>& addresses) {
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::seconds(60);
  while (SteadyClock::now() < deadline) {
    bool all_ok = true;
    for (const auto& a : addresses) {
      auto client = connector.connect(a);
      auto info = client.isOk() ? (*client)->clusterInfo() : client.status();
      if (!info.isOk() || info->state != "ok") {
        all_ok = false;
        break;
      }
    }
    if (all_ok) return since(start);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  die("serving", deadlineExceeded("the nodes did not all report cluster_state:ok in 60 s"));
}

// The outcome, from every node's own view: `masters` masters holding every slot (with the even
// split when `even`: redis-cli's rebalance leaves a small imbalance on purpose), each with
// `replicas` replicas, and every node serving.
void checkShape(redis::NodeConnector& connector, const std::vector<std::string>& addresses,
                int masters, int replicas, const std::string& what, bool even = true) {
  std::map<std::string, int> slots_of;
  std::map<std::string, int> replicas_of;
  for (const auto& a : addresses) {
    auto client = connector.connect(a);
    if (!client.isOk()) die(what, client.status());
    auto entries = (*client)->clusterNodes();
    if (!entries.isOk()) die(what, entries.status());
    auto info = (*client)->clusterInfo();
    if (!info.isOk()) die(what, info.status());
    if (info->state != "ok") die(what, internalError(a + " reports cluster_state:" + info->state));
    for (const auto& e : *entries) {
      if (!e.myself) continue;
      if (e.replica) {
        ++replicas_of[e.master_id];
        continue;
      }
      int n = 0;
      for (const auto& r : e.slots) n += r.size();
      if (n > 0) slots_of[e.id] = n;
    }
  }
  std::vector<int> counts;
  for (const auto& [id, n] : slots_of) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  int total = 0;
  for (int n : counts) total += n;
  if (static_cast<int>(counts.size()) != masters || total != kSlotCount ||
      (even && counts != topology::evenSlotCounts(masters))) {
    die(what, internalError(std::to_string(total) + " slots over " + std::to_string(counts.size()) +
                            " masters, expected " + std::to_string(masters) +
                            (even ? " with the even split" : "")));
  }
  for (const auto& [id, n] : slots_of) {
    if (replicas_of[id] != replicas) {
      die(what, internalError("master " + id.substr(0, 8) + " has " +
                              std::to_string(replicas_of[id]) + " replicas"));
    }
  }
}

std::string redisCli(const std::string& args, const std::string& what) {
  int code = -1;
  std::string out = runCommand("redis-cli " + args, &code);
  if (code != 0)
    die(what, internalError("redis-cli " + args + " exited " + std::to_string(code) + ":\n" + out));
  return out;
}

// redis-cli add-node returns right after its MEET; a rebalance started before every node knows
// the newcomer leaves it out, so this waits as a script driving redis-cli would have to.
void waitKnownByAll(redis::NodeConnector& connector, const std::vector<std::string>& addresses,
                    const std::string& newcomer) {
  const bool known = waitUntil(
      [&] {
        for (const auto& a : addresses) {
          auto client = connector.connect(a);
          auto entries = client.isOk() ? (*client)->clusterNodes() : client.status();
          if (!entries.isOk()) return false;
          bool found = false;
          for (const auto& e : *entries) found |= e.address() == newcomer && !e.handshake;
          if (!found) return false;
        }
        return true;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(10));
  if (!known) die("redis-cli add-node", deadlineExceeded(newcomer + " never joined"));
}

// Then rebalance still refuses to run until every node agrees on the configuration; a script
// has to wait for `--cluster check` to pass as well.
void waitCliCheckPasses(const std::string& seed) {
  const bool clean = waitUntil(
      [&] {
        int code = -1;
        runCommand("redis-cli --cluster check " + seed + " > /dev/null 2>&1", &code);
        return code == 0;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(10));
  if (!clean) die("redis-cli add-node", deadlineExceeded("redis-cli --cluster check never passed"));
}

std::string myId(redis::NodeConnector& connector, const std::string& address) {
  auto client = connector.connect(address);
  if (!client.isOk()) die("myid", client.status());
  auto id = (*client)->clusterMyId();
  if (!id.isOk()) die("myid", id.status());
  return *id;
}

// Seconds every bed's servers are left running before anything is timed. A master that has run
// for less than 2 s skips Redis's rejoin delay (its state can turn "ok" at once), which makes a
// create look faster than it is on nodes that have been up for a while, as an operator's are.
double g_age_seconds = 0;

void age() {
  if (g_age_seconds > 0) std::this_thread::sleep_for(Seconds(g_age_seconds));
}

struct Figures {
  double engine_create = 0;
  double cli_create = 0;
  double cli_create_serving = 0;
  double engine_add_master = 0;
  double cli_add_master = 0;
  double cli_add_master_serving = 0;
  double engine_replicas = 0;
  double cli_replicas = 0;
};

void engineCreate(Figures& f) {
  RedisServers servers({.count = 6});
  check("servers", servers.status());
  redis::HiredisConnector connector(servers.connectOptions());
  const auto nodes = addressesOf(servers, 0, 6);
  age();
  const auto start = SteadyClock::now();
  converge(connector, shapeOf(nodes, 3, 1), "engine create");
  f.engine_create = since(start);
  checkShape(connector, nodes, 3, 1, "engine create");
}

void cliCreate(Figures& f) {
  RedisServers servers({.count = 6});
  check("servers", servers.status());
  redis::HiredisConnector connector(servers.connectOptions());
  const auto nodes = addressesOf(servers, 0, 6);
  age();
  std::string list;
  for (const auto& a : nodes) list += a + " ";
  const auto start = SteadyClock::now();
  redisCli("--cluster create " + list + "--cluster-replicas 1 --cluster-yes", "redis-cli create");
  f.cli_create = since(start);
  waitServing(connector, nodes);
  f.cli_create_serving = since(start);
  checkShape(connector, nodes, 3, 1, "redis-cli create");
}

// A 3-master cluster (0 keys) serving, plus 5 fresh servers: a 4th master and 4 replicas.
struct GrowBed {
  RedisServers servers{{.count = 8}};
  redis::HiredisConnector connector{servers.connectOptions()};
};

void prepareGrowBed(GrowBed& bed) {
  check("servers", bed.servers.status());
  age();
  const auto masters = addressesOf(bed.servers, 0, 3);
  converge(bed.connector, shapeOf(masters, 3, 0), "form 3 masters");
  waitServing(bed.connector, masters);
}

void engineGrow(Figures& f) {
  GrowBed bed;
  prepareGrowBed(bed);
  const auto four = addressesOf(bed.servers, 0, 4);
  auto start = SteadyClock::now();
  converge(bed.connector, shapeOf(four, 4, 0), "engine add master");
  f.engine_add_master = since(start);
  checkShape(bed.connector, four, 4, 0, "engine add master");

  const auto eight = addressesOf(bed.servers, 0, 8);
  start = SteadyClock::now();
  converge(bed.connector, shapeOf(eight, 4, 1), "engine attach replicas");
  f.engine_replicas = since(start);
  checkShape(bed.connector, eight, 4, 1, "engine attach replicas");
}

void cliGrow(Figures& f) {
  GrowBed bed;
  prepareGrowBed(bed);
  const std::string seed = bed.servers.address(0);
  const auto four = addressesOf(bed.servers, 0, 4);
  auto start = SteadyClock::now();
  redisCli("--cluster add-node " + bed.servers.address(3) + " " + seed, "redis-cli add-node");
  waitKnownByAll(bed.connector, four, bed.servers.address(3));
  waitCliCheckPasses(seed);
  redisCli("--cluster rebalance " + seed + " --cluster-use-empty-masters", "redis-cli rebalance");
  f.cli_add_master = since(start);
  waitServing(bed.connector, four);
  f.cli_add_master_serving = since(start);
  checkShape(bed.connector, four, 4, 0, "redis-cli add master", false);

  start = SteadyClock::now();
  for (int i = 0; i < 4; ++i) {
    redisCli("--cluster add-node " + bed.servers.address(4 + i) + " " + seed +
                 " --cluster-slave --cluster-master-id " + myId(bed.connector, four[size_t(i)]),
             "redis-cli add replica");
  }
  f.cli_replicas = since(start);
  const auto eight = addressesOf(bed.servers, 0, 8);
  waitServing(bed.connector, eight);
  checkShape(bed.connector, eight, 4, 1, "redis-cli attach replicas", false);
}

void print(const char* step, double engine, double cli, double cli_serving, double cli_create) {
  char serving[32] = "-";
  if (cli_serving > 0) std::snprintf(serving, sizeof(serving), "%.2f s", cli_serving);
  std::printf("%-28s %8.2f s %9.2f s %9s %8.2f\n", step, engine, cli, serving, engine / cli_create);
}

}  // namespace
}  // namespace slotkeeper::test

int main(int argc, char** argv) {
  using namespace slotkeeper::test;
  int runs = 1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--age" && i + 1 < argc) {
      g_age_seconds = std::atof(argv[++i]);
    } else {
      runs = std::max(1, std::atoi(argv[i]));
    }
  }
  slotkeeper::log::setLevel(verbose ? slotkeeper::log::Level::kInfo
                                    : slotkeeper::log::Level::kWarn);
  std::printf(
      "topology benchmark: fresh redis-server processes, timed once they answer PING and have "
      "run for %.1f s more\n",
      g_age_seconds);
  std::printf("%-28s %10s %11s %9s %8s\n", "step", "engine", "redis-cli", "cli ok", "ratio");
  for (int run = 1; run <= runs; ++run) {
    Figures f;
    engineCreate(f);
    cliCreate(f);
    engineGrow(f);
    cliGrow(f);
    std::printf("run %d\n", run);
    print("create 3x1", f.engine_create, f.cli_create, f.cli_create_serving, f.cli_create);
    print("add a 4th master (0 keys)", f.engine_add_master, f.cli_add_master,
          f.cli_add_master_serving, f.cli_create);
    print("attach 4 replicas", f.engine_replicas, f.cli_replicas, 0, f.cli_create);
    std::fflush(stdout);
  }
  std::printf(
      "\nengine: returns once the nodes serve. redis-cli: when it returned, and ('cli ok') when\n"
      "every node reported cluster_state:ok. ratio: engine / redis-cli create (returned).\n"
      "Goal: each engine step under 2 s.\n");
  return 0;
}
