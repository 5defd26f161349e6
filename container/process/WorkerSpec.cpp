#include "process/WorkerSpec.h"

#include "process/Wire.h"

namespace serval::process {

std::string WorkerSpec::encode() const
{
    std::string out;
    WireWriter w(out);
    w.text(host);
    w.text(name);
    w.text(path);
    w.text(version);
    w.text(docBase);
    w.text(dataDir);
    w.text(signingSecret);
    w.text(defaultsWebXml);
    w.u64(maxBodySize);
    w.u32(threads);
    w.text(logFile);
    w.u8(static_cast<uint8_t>(logLevel));
    w.text(user);
    w.u32(index);
    w.u32(channels);
    return out;
}

std::optional<WorkerSpec> WorkerSpec::decode(std::string_view payload)
{
    WireReader r(payload);
    WorkerSpec spec;
    spec.host = r.text();
    spec.name = r.text();
    spec.path = r.text();
    spec.version = r.text();
    spec.docBase = r.text();
    spec.dataDir = r.text();
    spec.signingSecret = r.text();
    spec.defaultsWebXml = r.text();
    spec.maxBodySize = r.u64();
    spec.threads = r.u32();
    spec.logFile = r.text();
    uint8_t level = r.u8();
    spec.user = r.text();
    spec.index = r.u32();
    spec.channels = r.u32();
    if (!r.complete() || level > static_cast<uint8_t>(util::LogLevel::Off) || spec.threads == 0 ||
        spec.channels == 0 || spec.channels > 1024)
        return std::nullopt;
    spec.logLevel = static_cast<util::LogLevel>(level);
    return spec;
}

std::string WorkerSpec::describe() const
{
    std::string out = path.empty() ? "/" : path;
    if (!version.empty()) out += "##" + version;
    return out;
}

} // namespace serval::process
