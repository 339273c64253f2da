/* captures/record: libfcgi (fcgiapp.h) responder run under spawn-fcgi for recordings; FastCGI 1.0 spec. */
#define _DEFAULT_SOURCE
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *param(FCGX_ParamArray envp, const char *name)
{
    const char *v = FCGX_GetParam(name, envp);
    return v ? v : "";
}

int main(void)
{
    FCGX_Stream *in, *out, *err;
    FCGX_ParamArray envp;

    while (FCGX_Accept(&in, &out, &err, &envp) >= 0) {
        const char *path = param(envp, "DOCUMENT_URI");
        const char *tag = param(envp, "HTTP_X_REQUEST_ID");

        if (strcmp(path, "/index") == 0) {
            FCGX_FPrintF(out, "Content-Type: text/plain\r\n\r\nmethod=%s\nuri=%s\nquery=%s\ntag=%s\n",
                         param(envp, "REQUEST_METHOD"), param(envp, "REQUEST_URI"),
                         param(envp, "QUERY_STRING"), tag);
        } else if (strcmp(path, "/post") == 0) {
            char buf[16384];
            long total = 0;
            int n;
            while ((n = FCGX_GetStr(buf, (int)sizeof buf, in)) > 0)
                total += n;
            FCGX_FPrintF(out, "Content-Type: text/plain\r\n\r\ntag=%s\ncontent_length=%s\nread=%ld\n",
                         tag, param(envp, "CONTENT_LENGTH"), total);
        } else if (strcmp(path, "/big") == 0) {
            char line[1010];
            for (int i = 0; i < 1008; i++)
                line[i] = "0123456789abcdef"[i % 16];
            line[1008] = '\n';
            FCGX_PutS("Content-Type: application/octet-stream\r\n\r\n", out);
            for (int i = 0; i < 1040; i++)
                FCGX_PutStr(line, 1009, out);
        } else if (strcmp(path, "/stderr") == 0) {
            FCGX_FPrintF(err, "fcgiscope capture: message on FastCGI stderr for %s\n", tag);
            FCGX_PutS("Content-Type: text/plain\r\n\r\nwrote to stderr\n", out);
        } else if (strcmp(path, "/error500") == 0) {
            FCGX_PutS("Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\ndeliberate 500\n", out);
        } else if (strcmp(path, "/redirect") == 0) {
            FCGX_PutS("Status: 302 Found\r\nLocation: /index?from=redirect\r\nContent-Type: text/plain\r\n\r\nmoved\n", out);
        } else if (strcmp(path, "/slow") == 0) {
            const char *q = strstr(param(envp, "QUERY_STRING"), "ms=");
            int ms = q ? atoi(q + 3) : 100;
            if (ms < 0 || ms > 2000)
                ms = 100;
            usleep((useconds_t)ms * 1000);
            FCGX_FPrintF(out, "Content-Type: text/plain\r\n\r\nslept %d ms\n", ms);
        } else {
            FCGX_FPrintF(out, "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such path: %s\n", path);
        }
        FCGX_Finish();
    }
    return 0;
}
