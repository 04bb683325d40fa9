// Output checks of chapter 04 (process lifecycle), run as a user would: --format jsonl.
//
// Nothing here depends on timing: every state the program reports was reached through an Event
// or a Semaphore and then confirmed in /proc, so the checks assert exact values (exit codes,
// state letters, parent pids, group membership) under several seeds. The same checks run in the
// address+undefined sanitizer build, where the fatal-error children must still die of their
// signal (-8, -11) rather than of a sanitizer report.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <set>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;
using harness::select_demo;

namespace {

// One full run per seed, shared by the test cases (each run_jsonl also requires exit 0, clean
// jsonl, an empty stderr and nothing left behind: no process, no /dev/shm entry, no temp file).
const harness::Result& full_run(unsigned seed) {
    static std::map<unsigned, harness::Result> runs;
    auto it = runs.find(seed);
    if (it == runs.end()) it = runs.emplace(seed, run_jsonl(seed)).first;
    return it->second;
}

const std::vector<unsigned> kSeeds{1, 2, 3};

// Position of the first event matching `pred`, or -1.
template <typename Pred>
long index_of(const std::vector<Json>& events, Pred pred) {
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (pred(events[i])) return static_cast<long>(i);
    }
    return -1;
}

// pid -> exit code, from the process.exit events (emitted when a parent reaps a child).
std::map<long, int> exit_codes(const std::vector<Json>& events) {
    std::map<long, int> codes;
    for (const auto& e : select(events, "process.exit")) {
        codes[e["fields"]["pid"].get<long>()] = e["fields"]["exitcode"];
    }
    return codes;
}

// name -> pid, from the process.start events.
std::map<std::string, long> started(const std::vector<Json>& events) {
    std::map<std::string, long> pids;
    for (const auto& e : select(events, "process.start")) pids[e["fields"]["name"]] = e["fields"]["pid"].get<long>();
    return pids;
}

}  // namespace

TEST_CASE("two-runs: the same program run twice is two processes with separate memory", "[04]") {
    for (const unsigned seed : kSeeds) {
        INFO("seed " << seed);
        const auto& r = full_run(seed);
        const auto demo = select_demo(r.events, "two-runs");
        const long main = check::main_pid(r.events);

        std::map<std::string, int> methods;
        for (const auto& e : select(demo, "process.start")) methods[e["fields"]["method"]]++;
        CHECK(methods == std::map<std::string, int>{{"spawn", 2}});

        const auto wrote = select(demo, "instance.wrote");
        const auto read = select(demo, "instance.read");
        REQUIRE(wrote.size() == 2);
        REQUIRE(read.size() == 2);
        std::map<int, long> pid_of_index;
        for (const auto& e : wrote) {
            const int index = e["fields"]["index"];
            CHECK(e["fields"]["before"] == 0);  // a fresh image: nothing of main's memory
            CHECK(e["fields"]["value"] == 111 * index);
            CHECK(e["pid"].get<long>() != main);
            pid_of_index[index] = e["pid"].get<long>();
        }
        REQUIRE(pid_of_index.size() == 2);
        CHECK(pid_of_index[1] != pid_of_index[2]);  // two different pids
        // Each run reads back its own value, although both wrote before either read.
        long last_write = 0;
        long first_read = static_cast<long>(demo.size());
        for (std::size_t i = 0; i < demo.size(); ++i) {
            if (demo[i]["event"] == "instance.wrote") last_write = static_cast<long>(i);
            if (demo[i]["event"] == "instance.read") first_read = std::min(first_read, static_cast<long>(i));
        }
        CHECK(last_write < first_read);
        for (const auto& e : read) {
            const int index = e["fields"]["index"];
            CHECK(e["fields"]["value"] == 111 * index);
            CHECK(e["pid"].get<long>() == pid_of_index[index]);
        }

        // Seen from main through /proc: both run the very file main runs.
        const auto seen = select(demo, "instance.seen");
        REQUIRE(seen.size() == 2);
        std::set<long> seen_pids;
        for (const auto& e : seen) {
            CHECK(e["fields"]["same_file"] == true);
            CHECK(e["fields"]["exe"] == e["fields"]["main_exe"]);
            seen_pids.insert(e["fields"]["pid"].get<long>());
        }
        CHECK(seen_pids == std::set<long>{pid_of_index[1], pid_of_index[2]});
        for (const auto& e : wrote) CHECK(e["fields"]["exe"] == seen[0]["fields"]["main_exe"]);

        const auto summary = select(demo, "two-runs.summary");
        REQUIRE(summary.size() == 1);
        CHECK(summary[0]["fields"]["distinct_pids"] == true);
        CHECK(summary[0]["fields"]["same_exe"] == true);
        const auto codes = exit_codes(demo);
        CHECK(codes.at(pid_of_index[1]) == 0);
        CHECK(codes.at(pid_of_index[2]) == 0);
    }
}

TEST_CASE("endings: the four ways to end give exactly their exit codes", "[04]") {
    const std::map<std::string, int> expected{{"normal", 0},  {"no-file", 1},  {"exit-3", 3},
                                              {"divide", -8}, {"nowhere", -11}, {"victim", -9}};
    for (const unsigned seed : kSeeds) {
        INFO("seed " << seed);
        const auto& r = full_run(seed);
        const auto demo = select_demo(r.events, "endings");
        const auto pids = started(demo);
        const auto codes = exit_codes(demo);

        std::map<std::string, int> reported;
        for (const auto& e : select(demo, "ending")) {
            const std::string name = e["fields"]["name"];
            reported[name] = e["fields"]["exitcode"];
            // What main printed is what waitpid() gave when the child was reaped.
            CHECK(codes.at(pids.at(name)) == e["fields"]["exitcode"].get<int>());
            CHECK(e["fields"]["pid"].get<long>() == pids.at(name));
        }
        CHECK(reported == expected);

        // The fatal errors ended their process on the spot: nothing after the faulting line ran.
        for (const std::string name : {"divide", "nowhere"}) {
            std::size_t steps = 0;
            for (const auto& e : select(demo, "ending.step")) steps += e["fields"]["kind"] == name;
            CHECK(steps == 1);
        }
        // The error exit: the error reported as an event and, as Python does, on the child's stderr.
        const auto errors = select(demo, "error");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0]["pid"].get<long>() == pids.at("no-file"));
        CHECK(errors[0]["fields"]["error"] == "open a.py: No such file or directory");
        const auto stderr_text = select(demo, "child.stderr");
        REQUIRE(stderr_text.size() == 1);
        CHECK(stderr_text[0]["fields"]["stderr"] == "Process no-file: error: open a.py: No such file or directory");

        // The victim was waiting when main killed it, and died of SIGKILL, not of boredom.
        const long waiting = index_of(demo, [](const Json& e) {
            return e["event"] == "ending.step" && e["fields"]["kind"] == "victim";
        });
        const long kill = index_of(demo, [](const Json& e) { return e["event"] == "kill.sent"; });
        REQUIRE(waiting >= 0);
        REQUIRE(kill >= 0);
        CHECK(waiting < kill);
        std::size_t victim_steps = 0;
        for (const auto& e : select(demo, "ending.step")) victim_steps += e["fields"]["kind"] == "victim";
        CHECK(victim_steps == 1);

        const auto table = select(demo, "endings.table");
        REQUIRE(table.size() == 1);
        std::map<std::string, int> rows;
        for (const auto& row : table[0]["fields"]["rows"]) rows[row["name"]] = row["exitcode"];
        CHECK(rows == expected);
    }
}

TEST_CASE("states: R, S, T and Z each observed in /proc for the right child", "[04]") {
    for (const unsigned seed : kSeeds) {
        INFO("seed " << seed);
        const auto& r = full_run(seed);
        const auto demo = select_demo(r.events, "states");
        const auto pids = started(demo);
        REQUIRE(pids.size() == 4);

        std::vector<std::pair<std::string, std::string>> observed;  // (child, letter), in order
        for (const auto& e : select(demo, "state.observed")) {
            const auto& f = e["fields"];
            INFO(e.dump());
            CHECK(f["reached"] == true);
            CHECK(f["letter"] == f["wanted"]);
            // The letter was confirmed in /proc, the last one seen while polling.
            CHECK(f["seen"].get<std::string>().back() == f["wanted"].get<std::string>()[0]);
            CHECK(f["pid"].get<long>() == pids.at(f["name"]));
            observed.emplace_back(f["name"], f["letter"]);
        }
        const std::vector<std::pair<std::string, std::string>> wanted{
            {"spinner", "R"}, {"reader", "S"}, {"sleeper", "S"}, {"sleeper", "T"}, {"sleeper", "S"}, {"exited", "Z"}};
        CHECK(observed == wanted);

        // T lies between SIGSTOP and SIGCONT.
        const long stop = index_of(demo, [](const Json& e) {
            return e["event"] == "signal.sent" && e["fields"]["signal_name"] == "SIGSTOP";
        });
        const long t = index_of(demo, [](const Json& e) {
            return e["event"] == "state.observed" && e["fields"]["letter"] == "T";
        });
        const long cont = index_of(demo, [](const Json& e) {
            return e["event"] == "signal.sent" && e["fields"]["signal_name"] == "SIGCONT";
        });
        CHECK(stop >= 0);
        CHECK(stop < t);
        CHECK(t < cont);

        // Z was observed before the child was reaped, and the zombie held the exit status that
        // join() then collected.
        const long exited_pid = pids.at("exited");
        const long z = index_of(demo, [](const Json& e) {
            return e["event"] == "state.observed" && e["fields"]["letter"] == "Z";
        });
        const long reaped = index_of(demo, [&](const Json& e) {
            return e["event"] == "process.exit" && e["fields"]["pid"].get<long>() == exited_pid;
        });
        REQUIRE(z >= 0);
        REQUIRE(reaped >= 0);
        CHECK(z < reaped);
        const auto status = select(demo, "zombie.status");
        REQUIRE(status.size() == 1);
        CHECK(status[0]["fields"]["exit_status"] == 4 << 8);  // waitpid's encoding of exit(4)
        const auto gone = select(demo, "zombie.reaped");
        REQUIRE(gone.size() == 1);
        CHECK(gone[0]["fields"]["exitcode"] == 4);
        CHECK(gone[0]["fields"]["gone"] == true);

        const auto codes = exit_codes(demo);
        CHECK(codes.at(pids.at("spinner")) == 0);
        CHECK(codes.at(pids.at("reader")) == 0);
        CHECK(codes.at(pids.at("sleeper")) == 0);
        CHECK(codes.at(exited_pid) == 4);
        // Each child was released by main and said so (the spinner stopped, the reader got its
        // byte, the sleeper was released).
        CHECK(select(demo, "spinner.done").size() == 1);
        CHECK(select(demo, "reader.done").size() == 1);
        CHECK(select(demo, "sleeper.done").size() == 1);
    }
}

TEST_CASE("tree: main, two children, one grandchild, as /proc links them", "[04]") {
    for (const unsigned seed : kSeeds) {
        INFO("seed " << seed);
        const auto& r = full_run(seed);
        const auto demo = select_demo(r.events, "tree");
        const long main = check::main_pid(r.events);
        const auto pids = started(demo);
        REQUIRE(pids.size() == 3);
        // Process-1:1 was started by Process-1: its process.start event comes from that process.
        for (const auto& e : select(demo, "process.start")) {
            const long starter = e["fields"]["name"] == "Process-1:1" ? pids.at("Process-1") : main;
            CHECK(e["pid"].get<long>() == starter);
        }

        const auto tree = select(demo, "tree");
        REQUIRE(tree.size() == 1);
        std::map<std::string, Json> node;
        for (const auto& n : tree[0]["fields"]["nodes"]) node[n["name"]] = n;
        REQUIRE(node.size() == 4);  // main and its three descendants, nothing else
        CHECK(node["MainProcess"]["pid"].get<long>() == main);
        CHECK(node["MainProcess"]["depth"] == 0);
        for (const std::string child : {"Process-1", "Process-2"}) {
            CHECK(node[child]["pid"].get<long>() == pids.at(child));
            CHECK(node[child]["ppid"].get<long>() == main);
            CHECK(node[child]["depth"] == 1);
        }
        CHECK(node["Process-1:1"]["pid"].get<long>() == pids.at("Process-1:1"));
        CHECK(node["Process-1:1"]["ppid"].get<long>() == pids.at("Process-1"));
        CHECK(node["Process-1:1"]["depth"] == 2);

        // Each member's own view (getpid, getppid) agrees with /proc.
        const auto members = select(demo, "tree.member");
        REQUIRE(members.size() == 3);
        for (const auto& e : members) {
            const std::string name = e["actor"];
            CHECK(e["fields"]["pid"].get<long>() == node[name]["pid"].get<long>());
            CHECK(e["fields"]["ppid"].get<long>() == node[name]["ppid"].get<long>());
        }
        for (const auto& [pid, code] : exit_codes(demo)) CHECK(code == 0);
        CHECK(exit_codes(demo).size() == 3);  // the grandchild too was reaped, by its parent
    }
}

TEST_CASE("process-group: one killpg ends every member with -15 and nothing else", "[04]") {
    for (const unsigned seed : kSeeds) {
        INFO("seed " << seed);
        const auto& r = full_run(seed);
        const auto demo = select_demo(r.events, "process-group");
        const auto pids = started(demo);
        REQUIRE(pids.size() == 4);
        const long pgid = pids.at("leader");

        const auto formed = select(demo, "group.formed");
        REQUIRE(formed.size() == 1);
        const auto& f = formed[0]["fields"];
        CHECK(f["pgid"].get<long>() == pgid);  // a group's id is its leader's pid
        std::vector<long> expected{pids.at("leader"), pids.at("member-1"), pids.at("member-2")};
        std::sort(expected.begin(), expected.end());
        CHECK(f["members"].get<std::vector<long>>() == expected);
        CHECK(f["expected"].get<std::vector<long>>() == expected);
        CHECK(f["main_pgid"].get<long>() != pgid);  // main's own group was never signalled
        CHECK(f["outsider_pgid"] == f["main_pgid"]);

        for (const auto& e : select(demo, "group.member")) {
            const std::string name = e["actor"];
            const long in_group = e["fields"]["pgid"].get<long>();
            if (name == "outsider") CHECK(in_group == f["main_pgid"].get<long>());
            else CHECK(in_group == pgid);
        }

        const auto codes = exit_codes(demo);
        CHECK(codes.at(pids.at("leader")) == -15);
        CHECK(codes.at(pids.at("member-1")) == -15);
        CHECK(codes.at(pids.at("member-2")) == -15);
        CHECK(codes.at(pids.at("outsider")) == 0);

        const auto after = select(demo, "group.after");
        REQUIRE(after.size() == 1);
        CHECK(after[0]["fields"]["left"].empty());  // nothing of the group is left
        CHECK(after[0]["fields"]["outsider_alive"] == true);
        // Only the outsider lived to hear "done".
        const auto done = select(demo, "group.done");
        REQUIRE(done.size() == 1);
        CHECK(done[0]["actor"] == "outsider");
    }
}

TEST_CASE("a full run reaps every child it started, with the expected exit codes", "[04]") {
    for (const unsigned seed : kSeeds) {
        INFO("seed " << seed);
        const auto& r = full_run(seed);
        std::set<long> start_pids, exit_pids;
        for (const auto& e : select(r.events, "process.start")) start_pids.insert(e["fields"]["pid"].get<long>());
        std::multiset<int> codes;
        for (const auto& e : select(r.events, "process.exit")) {
            exit_pids.insert(e["fields"]["pid"].get<long>());
            codes.insert(e["fields"]["exitcode"].get<int>());
        }
        CHECK(start_pids == exit_pids);
        // two-runs 2, endings 6, states 4, tree 3, process-group 4 (fork vs spawn is chapter 05's)
        CHECK(start_pids.size() == 19);
        // Zeros: two-runs 2, endings 1, states 3, tree 3, process-group 1.
        const std::multiset<int> expected{0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 10 normal exits
                                          1, 3, -8, -11, -9,                   // endings
                                          4,                                   // the zombie
                                          -15, -15, -15};                      // the group
        CHECK(codes == expected);
    }
}

TEST_CASE("--hold takes 0 to 3600 logical seconds; anything else is a usage error", "[04]") {
    // 1e308 used to be accepted and overflowed on its way to a sleep.
    for (const char* bad : {"1e308", "3601", "-1", "inf", "soon"}) {
        INFO(bad);
        const auto r = harness::run_chapter({"--hold", bad});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("--hold") != std::string::npos);
        CHECK(r.out.empty());
        CHECK(r.leftovers.empty());
    }
}

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        lines.push_back(text.substr(start, nl - start));
    }
    lines.push_back(text.substr(start));
    return lines;
}

// A table row's cells: the columns are separated by two or more spaces.
std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    std::size_t i = line.find_first_not_of(' ');
    while (i != std::string::npos) {
        std::size_t end = line.find("  ", i);
        out.push_back(line.substr(i, end == std::string::npos ? std::string::npos : end - i));
        i = end == std::string::npos ? end : line.find_first_not_of(' ', end);
    }
    return out;
}

std::size_t code_points(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Every row of a block table shows the row of its event's fields, cell by cell, in order.
void check_table(const Json& event, const std::vector<std::string>& keys) {
    const auto lines = lines_of(event["text"].get<std::string>());
    const Json& rows = event["fields"]["rows"];
    REQUIRE(lines.size() == rows.size() + 1);  // the header, then one line per row
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::vector<std::string> expected;
        for (const auto& k : keys) {
            expected.push_back(rows[i][k].is_string() ? rows[i][k].get<std::string>() : rows[i][k].dump());
        }
        CHECK(cells(lines[i + 1]) == expected);
    }
}

}  // namespace

TEST_CASE("the tables and the tree show the values their events carry", "[04]") {
    const auto& r = full_run(1);
    const auto endings = select(r.events, "endings.table");
    REQUIRE(endings.size() == 1);
    check_table(endings[0], {"name", "how", "exitcode", "python"});
    const auto states = select(r.events, "states.table");
    REQUIRE(states.size() == 1);
    check_table(states[0], {"letter", "model", "child"});
    const auto group = select(r.events, "group.table");
    REQUIRE(group.size() == 1);
    check_table(group[0], {"name", "group", "exitcode"});
    for (const auto& row : group[0]["fields"]["rows"]) {
        CHECK(group[0]["fields"]["exitcodes"][row["name"].get<std::string>()] == row["exitcode"]);
    }

    // The tree: a header, then each node as name[pid], indented four columns per level.
    const auto tree = select(r.events, "tree");
    REQUIRE(tree.size() == 1);
    const Json& nodes = tree[0]["fields"]["nodes"];
    const auto lines = lines_of(tree[0]["text"].get<std::string>());
    REQUIRE(lines.size() == nodes.size() + 1);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const std::string label = nodes[i]["name"].get<std::string>() + "[" + nodes[i]["pid"].dump() + "]";
        const std::string& line = lines[i + 1];
        REQUIRE(line.size() >= label.size());
        CHECK(line.substr(line.size() - label.size()) == label);
        CHECK(code_points(line.substr(0, line.size() - label.size())) == 4 * nodes[i]["depth"].get<std::size_t>());
    }
}

TEST_CASE("hold: the line says what is held, for how long, and which session to look at", "[04]") {
    const auto r = run_jsonl(1, {"--demo", "tree", "--hold", "0.5"});
    const auto holds = select(r.events, "hold");
    REQUIRE(holds.size() == 1);
    const Json& f = holds[0]["fields"];
    CHECK(f["what"] == "the tree");
    CHECK(f["seconds"].get<double>() == 0.5);
    CHECK(f["sid"].get<long>() > 0);
    CHECK(holds[0]["text"] == "holding the tree for 0.5 s: try  ps -o pid,ppid,pgid,stat,comm --forest -s " +
                                  f["sid"].dump());
}
