#include "connector/Graveyard.h"

#include <mutex>
#include <vector>

namespace serval::connector {

void keepForever(std::shared_ptr<void> object)
{
    // Function statics, allocated on first use and never freed: nothing runs at exit.
    static std::mutex* mutex = new std::mutex;
    static auto* kept = new std::vector<std::shared_ptr<void>>;
    std::lock_guard<std::mutex> lock(*mutex);
    kept->push_back(std::move(object));
}

} // namespace serval::connector
