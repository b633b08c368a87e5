// Client impact of a live rebalance. A go-redis client (tests/loadgen) writes and reads its own
// keys without pause while a 3-master cluster holding a data set gains a 4th master and a
// quarter of the slots move to it. The same load runs against fresh servers with the same data
// three times:
//   - no migration (the baseline, held as long as slotkeeper's move took),
//   - slotkeeper's rebalance, driven as the operator drives it (bounded slices),
//   - redis-cli --cluster rebalance --cluster-use-empty-masters --cluster-pipeline 1000.
// For each it prints the move time and what the client saw during the move against the seconds
// before it: mean and lowest throughput, the median and the worst second's p99 latency, the
// longest command, failed commands and lost writes; then the ratios. With --out DIR, each run's
// per-second series (aligned on the move's start) goes to DIR/<run>.csv for plotting.
// With --sweep, only slotkeeper runs, once per slots-per-round-trip x parallel lanes, to tune
// them. With --rate N the client offers N operations a second on a fixed schedule (an open
// loop), each timed from when it was due, instead of sending each worker's next command when
// the last one answered: a stall then shows in full, and the client leaves CPU to the rest, as
// an application on other hosts would.
//
// Exits 1 if any run's client saw a failed command or lost a write.
//
// Usage: sk_bench_client_impact [--keys N] [--out DIR] [--batch-keys N] [--lanes N]
//                               [--pipeline-slots N] [--sweep] [--lead S] [--tail S]
//                               [--rate OPS] [--workers N]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_bed.h"
#include "common/log.h"

namespace slotkeeper::test {
namespace {

using Seconds = std::chrono::duration<double>;

struct Options {
  int keys = 1000000;
  std::string out_dir;
  int batch_keys = engine::MoveOptions{}.batch_keys;
  int lanes = engine::ExecutorOptions{}.max_parallel_moves;
  int pipeline_slots = engine::MoveOptions{}.slots_per_pipeline;
  bool sweep = false;
  int lead_seconds = 6;  // load before the move: the baseline seconds
  int tail_seconds = 4;  // load after it
  int rate = 0;          // operations a second offered by the client; 0: a closed loop
  int workers = 8;       // the client's workers
};

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One row of the load generator's --series-file.
struct SecondRow {
  int64_t t = 0;  // seconds since the load started
  int64_t ops = 0, failed = 0, redirects = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

std::string loadgenBinary() {
  if (const char* path = std::getenv("SK_LOADGEN_PATH"); path != nullptr) return path;
  std::string out = runCommand("bash " SK_REPO_ROOT "/tests/loadgen/build.sh 2>/dev/null", nullptr);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::string path = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  if (access(path.c_str(), X_OK) != 0) die("loadgen", internalError("build failed: " + out));
  return path;
}

// The load generator, from start to its summary.
class Load {
 public:
  Load(const Bed& bed, const Options& options, const std::string& work_dir) : dir_(work_dir) {
    std::string addrs;
    for (int i = 0; i < 4; ++i) addrs += (i ? "," : "") + bed.servers.address(i);
    std::vector<std::string> args = {loadgenBinary(),
                                     "--addrs",
                                     addrs,
                                     "--duration",
                                     "900s",
                                     "--max-ops",
                                     "200000000",
                                     "--concurrency",
                                     std::to_string(options.workers),
                                     "--rate",
                                     std::to_string(options.rate),
                                     "--keys",
                                     "20000",
                                     "--prefix",
                                     "impact",
                                     "--progress",
                                     "0",
                                     "--stop-file",
                                     dir_ + "/stop",
                                     "--series-file",
                                     dir_ + "/series.csv"};
    std::remove((dir_ + "/stop").c_str());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    started_ms_ = unixMs();
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::fopen((dir_ + "/summary.json").c_str(), "w");
      FILE* err = std::fopen((dir_ + "/loadgen.log").c_str(), "w");
      if (out) dup2(fileno(out), STDOUT_FILENO);
      if (err) dup2(fileno(err), STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Load() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Ends the load, waits for the read-back, and returns the summary.
  nlohmann::json stop() {
    std::ofstream(dir_ + "/stop") << "stop\n";
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    std::ifstream in(dir_ + "/summary.json");
    std::string line;
    std::getline(in, line);
    auto summary = nlohmann::json::parse(line, nullptr, false);
    if (summary.is_discarded()) die("loadgen", internalError("no summary; see " + dir_));
    return summary;
  }

  // The per-second rows, their seconds counted from the load generator's own start.
  std::vector<SecondRow> rows() const {
    std::vector<SecondRow> rows;
    std::ifstream in(dir_ + "/series.csv");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      SecondRow r;
      if (std::sscanf(line.c_str(), "%ld,%ld,%ld,%ld,%lf,%lf,%lf", &r.t, &r.ops, &r.failed,
                      &r.redirects, &r.p50_ms, &r.p99_ms, &r.max_ms) == 7) {
        rows.push_back(r);
      }
    }
    return rows;
  }

  int64_t startedMs() const { return started_ms_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int64_t started_ms_ = 0;
};

struct Outcome {
  std::string name;
  double move_seconds = 0;
  double base_ops = 0;       // mean ops/s before the move
  double move_ops = 0;       // mean ops/s during it
  double min_ops = 0;        // the slowest second during it
  double median_p99_ms = 0;  // the median second's p99 during it
  double worst_p99_ms = 0;   // the worst second's p99 during it
  double max_ms = 0;         // the longest command during it
  int64_t failed = 0;        // failed commands, whole run
  int64_t lost = 0;          // acknowledged writes missing or altered, whole run
  std::string detail;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Splits the rows into the seconds wholly before the move (the first one, a warm-up, left out)
// and the seconds that overlap it, and sums up each side.
void summarize(const std::vector<SecondRow>& rows, double move_from, double move_to, Outcome* out) {
  std::vector<double> base, during, p99s;
  for (const auto& r : rows) {
    const double from = static_cast<double>(r.t), to = from + 1;
    if (r.t >= 1 && to <= move_from) base.push_back(static_cast<double>(r.ops));
    if (to <= move_from || from >= move_to) continue;
    during.push_back(static_cast<double>(r.ops));
    p99s.push_back(r.p99_ms);
    out->worst_p99_ms = std::max(out->worst_p99_ms, r.p99_ms);
    out->max_ms = std::max(out->max_ms, r.max_ms);
  }
  auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0 : sum / static_cast<double>(v.size());
  };
  out->base_ops = mean(base);
  out->move_ops = mean(during);
  out->min_ops = during.empty() ? 0 : *std::min_element(during.begin(), during.end());
  out->median_p99_ms = median(p99s);
}

void writeSeries(const Options& options, const std::string& name,
                 const std::vector<SecondRow>& rows, double move_from, double move_to) {
  if (options.out_dir.empty()) return;
  std::ofstream csv(options.out_dir + "/" + name + ".csv");
  csv << "# move from 0 to " << (move_to - move_from) << " s\n";
  csv << "t_s,ops,failed,redirects,p50_ms,p99_ms,max_ms\n";
  // The last row is the part of a second before the load stopped: left out of the plot.
  for (size_t i = 0; i + 1 < rows.size(); ++i) {
    const SecondRow& r = rows[i];
    csv << (static_cast<double>(r.t) - move_from) << ',' << r.ops << ',' << r.failed << ','
        << r.redirects << ',' << r.p50_ms << ',' << r.p99_ms << ',' << r.max_ms << '\n';
  }
}

enum class Mover { kNone, kSlotkeeper, kRedisCli };

// One run on fresh servers: load, lead, the move (or `hold_seconds` of nothing), tail.
Outcome runOnce(const Options& options, const std::string& name, Mover mover, double hold_seconds) {
  Bed bed;
  prepareBed(bed, options.keys);
  char dir_template[] = "/tmp/sk-bench-impact.XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  Load load(bed, options, dir);
  std::this_thread::sleep_for(std::chrono::seconds(options.lead_seconds));
  Outcome out;
  out.name = name;
  const int64_t from_ms = unixMs();
  if (mover == Mover::kSlotkeeper) {
    engine::ExecutorOptions eo;
    eo.move.batch_keys = options.batch_keys;
    eo.move.slots_per_pipeline = options.pipeline_slots;
    eo.max_parallel_moves = options.lanes;
    SliceRun run = rebalanceInOperatorSlices(bed, eo);
    out.detail = std::to_string(run.slots) + " slots, " + std::to_string(run.keys) + " keys in " +
                 std::to_string(run.slices) + " slices";
  } else if (mover == Mover::kRedisCli) {
    rebalanceWithRedisCli(bed, 1000);
  } else {
    std::this_thread::sleep_for(Seconds(hold_seconds));
  }
  const int64_t to_ms = unixMs();
  out.move_seconds = static_cast<double>(to_ms - from_ms) / 1000.0;
  std::this_thread::sleep_for(std::chrono::seconds(options.tail_seconds));
  nlohmann::json summary = load.stop();
  out.failed = summary.value("failed_commands", int64_t{0});
  out.lost = summary.value("read_mismatches", int64_t{0}) +
             summary.value("verify_missing", int64_t{0}) +
             summary.value("verify_wrong", int64_t{0});
  const double move_from = static_cast<double>(from_ms - load.startedMs()) / 1000.0;
  const double move_to = static_cast<double>(to_ms - load.startedMs()) / 1000.0;
  const auto rows = load.rows();
  summarize(rows, move_from, move_to, &out);
  writeSeries(options, name, rows, move_from, move_to);
  if (std::getenv("SK_KEEP_TEST_DIRS") == nullptr) runCommand("rm -rf " + dir, nullptr);
  return out;
}

void printHeader() {
  std::printf("%-12s %8s %10s %10s %10s %10s %10s %10s %7s %5s\n", "run", "move s", "base op/s",
              "move op/s", "min op/s", "p99 med", "p99 worst", "max ms", "failed", "lost");
}

void printRow(const Outcome& o) {
  std::printf("%-12s %8.2f %10.0f %10.0f %10.0f %10.2f %10.2f %10.1f %7lld %5lld  %s\n",
              o.name.c_str(), o.move_seconds, o.base_ops, o.move_ops, o.min_ops, o.median_p99_ms,
              o.worst_p99_ms, o.max_ms, static_cast<long long>(o.failed),
              static_cast<long long>(o.lost), o.detail.c_str());
  std::fflush(stdout);
}

// A run whose client saw a failed command or lost a write.
bool troubled(const Outcome& o) { return o.failed > 0 || o.lost > 0; }

// The source runs each MIGRATE to its end before it serves anyone else, and takes the MIGRATEs
// pipelined to it a read buffer at a time: the slots per round trip bound how long its clients
// wait; the lanes, how many sources are busy at once. Returns how many runs were troubled.
int sweep(Options options) {
  printHeader();
  int troubled_runs = 0;
  for (int pipeline : {1, 2, 8, 128}) {
    for (int lanes : {1, 4}) {
      options.pipeline_slots = pipeline;
      options.lanes = lanes;
      Outcome o = runOnce(options, "p" + std::to_string(pipeline) + "/l" + std::to_string(lanes),
                          Mover::kSlotkeeper, 0);
      printRow(o);
      troubled_runs += troubled(o) ? 1 : 0;
    }
  }
  return troubled_runs;
}

// Returns how many runs were troubled.
int compare(const Options& options) {
  printHeader();
  Outcome sk = runOnce(options, "slotkeeper", Mover::kSlotkeeper, 0);
  printRow(sk);
  Outcome none = runOnce(options, "none", Mover::kNone, sk.move_seconds);
  printRow(none);
  Outcome cli = runOnce(options, "redis-cli", Mover::kRedisCli, 0);
  printRow(cli);
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf("\nratios (slotkeeper batch %d keys, %d lanes, %d slots per round trip):\n",
              options.batch_keys, options.lanes, options.pipeline_slots);
  std::printf("  move time      redis-cli / slotkeeper          = %6.2fx faster (goal >= 3x)\n",
              ratio(cli.move_seconds, sk.move_seconds));
  std::printf("  throughput     during / before, slotkeeper     = %6.2f (redis-cli %.2f)\n",
              ratio(sk.move_ops, sk.base_ops), ratio(cli.move_ops, cli.base_ops));
  std::printf("  lowest second  / before, slotkeeper            = %6.2f (redis-cli %.2f)\n",
              ratio(sk.min_ops, sk.base_ops), ratio(cli.min_ops, cli.base_ops));
  std::printf("  p99 worst sec  slotkeeper / redis-cli          = %6.2f (goal <= 1)\n",
              ratio(sk.worst_p99_ms, cli.worst_p99_ms));
  std::printf("  p99 median sec slotkeeper / redis-cli          = %6.2f\n",
              ratio(sk.median_p99_ms, cli.median_p99_ms));
  std::printf("  p99 median sec slotkeeper / no migration       = %6.2f\n",
              ratio(sk.median_p99_ms, none.median_p99_ms));
  std::printf("  longest command slotkeeper / redis-cli         = %6.2f\n",
              ratio(sk.max_ms, cli.max_ms));
  return (troubled(sk) ? 1 : 0) + (troubled(none) ? 1 : 0) + (troubled(cli) ? 1 : 0);
}

int intArg(const char* flag, const char* value) {
  char* end = nullptr;
  long v = value ? std::strtol(value, &end, 10) : 0;
  if (value == nullptr || *end != '\0' || v <= 0 || v > 100000000) {
    std::fprintf(stderr, "bench: %s needs a positive number\n", flag);
    std::exit(2);
  }
  return static_cast<int>(v);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (flag == "--sweep") {
      o.sweep = true;
      continue;
    }
    if (flag == "--out" && value != nullptr) {
      o.out_dir = value;
    } else if (flag == "--keys") {
      o.keys = intArg("--keys", value);
    } else if (flag == "--batch-keys") {
      o.batch_keys = intArg("--batch-keys", value);
    } else if (flag == "--lanes") {
      o.lanes = intArg("--lanes", value);
    } else if (flag == "--pipeline-slots") {
      o.pipeline_slots = intArg("--pipeline-slots", value);
    } else if (flag == "--lead") {
      o.lead_seconds = intArg("--lead", value);
    } else if (flag == "--tail") {
      o.tail_seconds = intArg("--tail", value);
    } else if (flag == "--rate") {
      o.rate = intArg("--rate", value);
    } else if (flag == "--workers") {
      o.workers = intArg("--workers", value);
    } else {
      std::fprintf(stderr, "bench: unknown argument %s\n", flag.c_str());
      std::exit(2);
    }
    ++i;
  }
  return o;
}

}  // namespace
}  // namespace slotkeeper::test

int main(int argc, char** argv) {
  using namespace slotkeeper::test;
  const Options options = parseArgs(argc, argv);
  slotkeeper::log::setLevel(slotkeeper::log::Level::kWarn);  // the table, not each step
  std::printf(
      "client impact: %d keys in 3 masters, a 4th master joins; go-redis client, %d workers"
      ", SET+GET on 20,000 keys of its own, %s\n",
      options.keys, options.workers,
      options.rate > 0 ? ("offered at " + std::to_string(options.rate) + " op/s").c_str()
                       : "each worker's next command sent when the last one answered");
  const int troubled_runs = options.sweep ? sweep(options) : compare(options);
  if (troubled_runs > 0) {
    std::printf("\n%d run(s) saw failed commands or lost writes\n", troubled_runs);
    return 1;
  }
  return 0;
}
