#include "support/NginxServer.h"

#include "support/Eventually.h"
#include "support/Ports.h"
#include "support/TempDir.h"

#include <filesystem>
#include <fstream>

namespace serval::test {

namespace {

std::string replaceAll(std::string text, const std::string& from, const std::string& to)
{
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

} // namespace

bool NginxServer::start(const std::string& httpBlock)
{
    std::filesystem::create_directories(_dir + "/temp");
    for (int attempt = 0; attempt < 5; ++attempt) {
        _port = freeLoopbackPort();
        std::string conf =
            "daemon off;\nmaster_process off;\npid " + _dir + "/nginx.pid;\nerror_log " + _dir +
            "/error.log info;\nevents { worker_connections 1024; }\nhttp {\n"
            "  log_format serval_test '$status \"$upstream_addr\" \"$upstream_status\" $request';\n"
            "  access_log " +
            _dir + "/access.log serval_test;\n";
        for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
            conf += "  " + std::string(temp) + "_temp_path " + _dir + "/temp/" + temp + ";\n";
        conf += replaceAll(httpBlock, "@PORT@", std::to_string(_port)) + "\n}\n";
        std::ofstream(_dir + "/nginx.conf", std::ios::trunc) << conf;
        // -e: the error log from the first moment, before nginx has read the config (it would
        // try /var/log/nginx otherwise).
        if (!_process.spawn(
                {"/usr/sbin/nginx", "-p", _dir, "-c", _dir + "/nginx.conf", "-e", _dir + "/error.log"},
                _dir + "/nginx.out")) {
            _error = _process.error();
            return false;
        }
        if (eventually([&] { return acceptsConnections(_port) || !_process.running(); },
                       std::chrono::seconds(10)) &&
            _process.running()) {
            return true;
        }
        _process.kill();
    }
    _error = "nginx did not listen on 127.0.0.1:" + std::to_string(_port) + ": " + errorLog() +
             readFile(_dir + "/nginx.out");
    return false;
}

void NginxServer::stop()
{
    _process.stop(SIGQUIT);
}

std::string NginxServer::errorLog() const
{
    return readFile(_dir + "/error.log");
}

std::string NginxServer::accessLog() const
{
    return readFile(_dir + "/access.log");
}

} // namespace serval::test
