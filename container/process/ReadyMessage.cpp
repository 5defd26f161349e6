#include "process/ReadyMessage.h"

#include "process/Wire.h"

namespace serval::process {
namespace {

/// Caps on what a worker may declare (far above any real app; a corrupt count fails at once).
constexpr uint32_t kMaxItems = 4096;
constexpr uint32_t kMaxText = 4096;

void writeList(WireWriter& w, const std::vector<std::string>& items)
{
    w.u32(static_cast<uint32_t>(items.size()));
    for (const std::string& item : items)
        w.text(item);
}

/// Reads a count, refusing one above kMaxItems (the reader then fails).
uint32_t readCount(WireReader& r, bool& bad)
{
    uint32_t count = r.u32();
    if (count > kMaxItems) bad = true;
    return bad || r.failed() ? 0 : count;
}

std::vector<std::string> readList(WireReader& r, bool& bad)
{
    std::vector<std::string> items;
    for (uint32_t i = 0, n = readCount(r, bad); i < n && !r.failed(); ++i)
        items.emplace_back(r.text());
    return items;
}

} // namespace

std::string ReadyMessage::encode() const
{
    std::string out;
    WireWriter w(out);
    w.text(loaded);
    const config::WebAppConfig& d = declarations;
    w.u32(static_cast<uint32_t>(d.servlets.size()));
    for (const config::ServletDef& s : d.servlets) {
        w.text(s.name);
        w.text(s.className);
        w.u8(s.loadOnStartup ? 1 : 0);
        w.i64(s.loadOnStartup.value_or(0));
    }
    w.u32(static_cast<uint32_t>(d.servletMappings.size()));
    for (const config::ServletMappingDef& m : d.servletMappings) {
        w.text(m.servletName);
        writeList(w, m.urlPatterns);
    }
    w.u32(static_cast<uint32_t>(d.filters.size()));
    for (const config::FilterDef& f : d.filters) {
        w.text(f.name);
        w.text(f.className);
    }
    w.u32(static_cast<uint32_t>(d.filterMappings.size()));
    for (const config::FilterMappingDef& m : d.filterMappings) {
        w.text(m.filterName);
        writeList(w, m.urlPatterns);
        writeList(w, m.servletNames);
        w.u8(static_cast<uint8_t>((m.onRequest ? 1 : 0) | (m.onError ? 2 : 0)));
    }
    writeList(w, d.listeners);
    return out;
}

std::optional<ReadyMessage> ReadyMessage::decode(std::string_view payload)
{
    WireReader r(payload, kMaxText);
    bool bad = false;
    ReadyMessage ready;
    ready.loaded = r.text();
    config::WebAppConfig& d = ready.declarations;
    d.source = "code declarations";
    for (uint32_t i = 0, n = readCount(r, bad); i < n && !r.failed(); ++i) {
        config::ServletDef s;
        s.name = r.text();
        s.className = r.text();
        bool hasLoadOnStartup = r.u8() != 0;
        int64_t loadOnStartup = r.i64();
        if (hasLoadOnStartup) s.loadOnStartup = static_cast<int>(loadOnStartup);
        d.servlets.push_back(std::move(s));
    }
    for (uint32_t i = 0, n = readCount(r, bad); i < n && !r.failed(); ++i) {
        config::ServletMappingDef m;
        m.servletName = r.text();
        m.urlPatterns = readList(r, bad);
        d.servletMappings.push_back(std::move(m));
    }
    for (uint32_t i = 0, n = readCount(r, bad); i < n && !r.failed(); ++i) {
        config::FilterDef f;
        f.name = r.text();
        f.className = r.text();
        d.filters.push_back(std::move(f));
    }
    for (uint32_t i = 0, n = readCount(r, bad); i < n && !r.failed(); ++i) {
        config::FilterMappingDef m;
        m.filterName = r.text();
        m.urlPatterns = readList(r, bad);
        m.servletNames = readList(r, bad);
        uint8_t dispatchers = r.u8();
        m.onRequest = (dispatchers & 1) != 0;
        m.onError = (dispatchers & 2) != 0;
        d.filterMappings.push_back(std::move(m));
    }
    d.listeners = readList(r, bad);
    if (bad || !r.complete()) return std::nullopt;
    return ready;
}

} // namespace serval::process
