#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "fcs_http.h"

/* What a response held in memory may grow to (a model description is some kB): a server
 * cannot make fcs use all memory. */
#define MAX_IN_MEMORY (64 << 20)

typedef struct {
    char *data;
    size_t size;
    int too_large;
} buffer;

static size_t
append(char *chunk, size_t size, size_t count, void *user_data)
{
    buffer *b = user_data;
    size_t n = size * count;
    char *grown;

    if (n > MAX_IN_MEMORY - b->size) {
        b->too_large = 1;
        return 0; /* curl stops with a write error */
    }
    if (!(grown = realloc(b->data, b->size + n + 1)))
        return 0;
    b->data = grown;
    memcpy(b->data + b->size, chunk, n);
    b->size += n;
    b->data[b->size] = 0;
    return n;
}

/* Keeps only the headers of the last response (after redirects). */
static size_t
append_header(char *chunk, size_t size, size_t count, void *user_data)
{
    buffer *b = user_data;

    if (size * count > 5 && strncmp(chunk, "HTTP/", 5) == 0)
        b->size = 0;
    return append(chunk, size, count, user_data);
}

static CURL *
start(const char *url, const char *token, const char *user_agent, struct curl_slist **headers, char *error)
{
    static int initialised;
    CURL *curl;

    if (!initialised) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        initialised = 1;
    }
    if (!(curl = curl_easy_init()))
        return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, user_agent);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L); /* give up after 60 s without a byte */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    /* a server's redirect may lead to another server, but not to file:// or other protocols */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    *headers = NULL;
    if (token && *token) {
        char line[1024];
        snprintf(line, sizeof line, "Authorization: Bearer %s", token);
        *headers = curl_slist_append(NULL, line);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
    }
    return curl;
}

void
fcs_http_request(const char *url, const char *token, const char *user_agent, int head, fcs_http_response *response)
{
    buffer body = { 0 }, headers = { 0 };
    struct curl_slist *list;
    CURL *curl;
    CURLcode code;

    memset(response, 0, sizeof *response);
    if (!(curl = start(url, token, user_agent, &list, response->error))) {
        snprintf(response->error, sizeof response->error, "libcurl did not start");
        return;
    }
    curl_easy_setopt(curl, CURLOPT_NOBODY, head ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, head ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
    code = curl_easy_perform(curl);
    if (code == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    else if (body.too_large || headers.too_large)
        snprintf(response->error, sizeof response->error, "the response is over %d MB", MAX_IN_MEMORY >> 20);
    else if (!response->error[0])
        snprintf(response->error, sizeof response->error, "%s", curl_easy_strerror(code));
    response->body = body.data ? body.data : calloc(1, 1);
    response->body_size = body.size;
    response->headers = headers.data ? headers.data : calloc(1, 1);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
}

void
fcs_http_response_free(fcs_http_response *response)
{
    free(response->body);
    free(response->headers);
    response->body = response->headers = NULL;
}

typedef struct {
    FILE *file;
    EVP_MD_CTX *hash;
    fcs_http_progress progress;
    void *user_data;
    int64_t offset;
    long status;
    CURL *curl;
} download;

static size_t
write_file(char *chunk, size_t size, size_t count, void *user_data)
{
    download *d = user_data;
    size_t n = size * count;

    if (!d->status) /* a 416 or an error page must not end up in the file */
        curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &d->status);
    if (d->status != 200 && d->status != 206)
        return 0;
    if (d->status == 200 && d->offset > 0) { /* the server ignored the range: start over */
        if (fflush(d->file) || ftruncate(fileno(d->file), 0) || fseek(d->file, 0, SEEK_SET))
            return 0;
        EVP_DigestInit_ex(d->hash, EVP_sha256(), NULL);
        d->offset = 0;
    }
    EVP_DigestUpdate(d->hash, chunk, n);
    return fwrite(chunk, 1, n, d->file);
}

static int
on_progress(void *user_data, curl_off_t total, curl_off_t done, curl_off_t up_total, curl_off_t up_done)
{
    download *d = user_data;

    (void) up_total;
    (void) up_done;
    if (total > INT64_MAX - d->offset) /* a server's Content-Length may be anything */
        total = 0;
    return d->progress ? d->progress(d->offset + done, total ? d->offset + total : 0, d->user_data) : 0;
}

/* Feeds what the file already holds into the hash, so a resumed download hashes the whole file. */
static int
hash_existing(FILE *file, EVP_MD_CTX *hash, int64_t *size)
{
    char chunk[1 << 16];
    size_t n;

    *size = 0;
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0) {
        EVP_DigestUpdate(hash, chunk, n);
        *size += n;
    }
    return ferror(file) ? -1 : 0;
}

long
fcs_http_download(const char *url, const char *token, const char *user_agent, const char *path, fcs_http_progress progress,
                  void *user_data, char sha256_hex[65], char error[256])
{
    download d = { 0 };
    struct curl_slist *list;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0, i;
    CURLcode code;

    error[0] = 0;
    if (!(d.file = fopen(path, "a+b"))) {
        snprintf(error, 256, "cannot write %s", path);
        return 0;
    }
    if (!(d.hash = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(d.hash, EVP_sha256(), NULL)) {
        snprintf(error, 256, "OpenSSL did not start");
        goto done;
    }
    if (fseek(d.file, 0, SEEK_SET) || hash_existing(d.file, d.hash, &d.offset)) {
        snprintf(error, 256, "cannot read %s", path);
        goto done;
    }
    d.progress = progress;
    d.user_data = user_data;
    if (!(d.curl = start(url, token, user_agent, &list, error))) {
        snprintf(error, 256, "libcurl did not start");
        goto done;
    }
    curl_easy_setopt(d.curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(d.curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) d.offset);
    curl_easy_setopt(d.curl, CURLOPT_WRITEFUNCTION, write_file);
    curl_easy_setopt(d.curl, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(d.curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(d.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(d.curl, CURLOPT_XFERINFODATA, &d);
    code = curl_easy_perform(d.curl);
    curl_easy_getinfo(d.curl, CURLINFO_RESPONSE_CODE, &d.status);
    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && d.status != 200 && d.status != 206)) {
        if (!error[0])
            snprintf(error, 256, "%s", curl_easy_strerror(code));
        d.status = 0;
    } else if (d.status == 416 && d.offset > 0) {
        /* nothing left to fetch: the file was already complete (its hash tells) */
    } else if (d.status != 200 && d.status != 206) {
        snprintf(error, 256, "HTTP %ld", d.status);
        d.status = 0;
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(d.curl);
    if (fflush(d.file)) {
        snprintf(error, 256, "cannot write %s", path);
        d.status = 0;
    }
    EVP_DigestFinal_ex(d.hash, digest, &length);
    for (i = 0; i < length; i++)
        snprintf(sha256_hex + 2 * i, 3, "%02x", digest[i]);
done:
    EVP_MD_CTX_free(d.hash);
    fclose(d.file);
    return d.status;
}
