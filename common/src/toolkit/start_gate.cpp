#include "wb/start_gate.hpp"

#include <stdexcept>
#include <string>

#include "wb/clock.hpp"

namespace wb {

namespace {
int checked_parties(int parties) {
    if (parties < 1) throw std::invalid_argument("StartGate: parties must be >= 1, got " + std::to_string(parties));
    return parties;
}
}  // namespace

StartGate::StartGate(int parties) : arrived_(0), opened_(), parties_(checked_parties(parties)) {}

StartGate::StartGate(Semaphore&& arrived, Event&& opened, int parties) noexcept
    : arrived_(std::move(arrived)), opened_(std::move(opened)), parties_(parties) {}

StartGate StartGate::adopt(std::string_view handed_over) {
    const auto comma = handed_over.find(',');
    if (comma == std::string_view::npos) {
        throw std::invalid_argument("StartGate::adopt: '" + std::string(handed_over) +
                                    "' is not what StartGate::hand_over() returns");
    }
    Semaphore arrived = Semaphore::adopt(handed_over.substr(0, comma));
    Event opened = Event::adopt(handed_over.substr(comma + 1));
    return StartGate(std::move(arrived), std::move(opened), 0);
}

void StartGate::arrive() { arrived_.release(); }

void StartGate::arrive_and_wait() {
    arrive();
    opened_.wait();
}

bool StartGate::arrive_and_wait(double timeout) {
    arrive();
    return opened_.wait(timeout);
}

void StartGate::wait_until_ready() {
    for (int i = 0; i < parties_; ++i) arrived_.acquire();
}

bool StartGate::wait_until_ready(double timeout) {
    const clock::Stopwatch watch;
    for (int counted = 0; counted < parties_; ++counted) {
        if (!arrived_.acquire(timeout - watch.elapsed())) {
            for (int i = 0; i < counted; ++i) arrived_.release();  // give back what was counted
            return false;
        }
    }
    return true;
}

void StartGate::open() { opened_.set(); }

bool StartGate::is_open() const noexcept { return opened_.is_set(); }

std::string StartGate::hand_over() { return arrived_.hand_over() + "," + opened_.hand_over(); }

}  // namespace wb
