#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcs_image_files.h"
#include "vips_pixels.h"

static __thread char last_error[1024];
static mode_t creation_mode = 0644; /* 0666 less the umask, as files made with open() get */

static void
keep_vips_error(void)
{
	const char *text = vips_error_buffer();
	size_t length;

	g_strlcpy(last_error, text && *text ? text : "libvips failed", sizeof last_error);
	length = strlen(last_error);
	while (length && (last_error[length - 1] == '\n' || last_error[length - 1] == ' '))
		last_error[--length] = 0;
	for (char *c = last_error; *c; c++) /* one line */
		if (*c == '\n')
			*c = ' ';
	vips_error_clear();
}

/* libvips's warnings would be lines on stderr next to fcs's one-line error (failures reach
 * the error buffer, which fcs reports). */
static void
drop_warning(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user_data)
{
	(void) domain;
	(void) level;
	(void) message;
	(void) user_data;
}

int
fcs_image_files_init(const char *program)
{
	mode_t mask = umask(0);

	umask(mask);
	creation_mode = 0666 & ~mask;
	if (VIPS_INIT(program)) {
		keep_vips_error();
		return -1;
	}
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, drop_warning, NULL);
	return 0;
}

float *
fcs_image_file_read(const char *path, int32_t *width, int32_t *height, int32_t *channels, void **source)
{
	VipsImage *image, *like = NULL;
	float *pixels;
	int w, h, c;

	/* a truncated file is an error, not an image with grey rows */
	if (!(image = vips_image_new_from_file(path, "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL))) {
		keep_vips_error();
		return NULL;
	}
	/* the header's size, before any decoding: a small file may claim a huge image */
	if ((int64_t) image->Xsize * image->Ysize > FCS_IMAGE_FILE_MAX_PIXELS) {
		g_snprintf(last_error, sizeof last_error, "%d×%d pixels is more than fcs reads (%d megapixels)",
			image->Xsize, image->Ysize, FCS_IMAGE_FILE_MAX_PIXELS >> 20);
		g_object_unref(image);
		return NULL;
	}
	pixels = fcs_vips_read_pixels(image, &w, &h, &c, &like);
	g_object_unref(image);
	if (!pixels) {
		keep_vips_error();
		return NULL;
	}
	*width = w;
	*height = h;
	*channels = c;
	*source = like;
	return pixels;
}

int
fcs_image_file_check_destination(const char *path)
{
	char *name, *folder;
	struct stat status;
	int result = -1;

	if (!vips_foreign_find_save(path)) {
		keep_vips_error();
		return -1;
	}
	name = vips_filename_get_filename(path);
	folder = g_path_get_dirname(name);
	if (stat(name, &status) == 0 && S_ISDIR(status.st_mode))
		g_snprintf(last_error, sizeof last_error, "a folder is in the way");
	else if (stat(folder, &status) != 0)
		g_snprintf(last_error, sizeof last_error, "cannot write in %s: %s", folder, strerror(errno));
	else if (!S_ISDIR(status.st_mode))
		g_snprintf(last_error, sizeof last_error, "cannot write in %s: not a folder", folder);
	else if (access(folder, W_OK | X_OK) != 0)
		g_snprintf(last_error, sizeof last_error, "cannot write in %s: %s", folder, strerror(errno));
	else
		result = 0;
	g_free(name);
	g_free(folder);
	return result;
}

int
fcs_image_file_write_temporary(const char *path, const float *pixels, int32_t width, int32_t height,
                               int32_t channels, void *source, char temporary[FCS_IMAGE_FILE_NAME_MAX])
{
	char *name = vips_filename_get_filename(path), *options = vips_filename_get_options(path);
	char *folder = g_path_get_dirname(name), *base = g_path_get_basename(name), *target;
	VipsImage *image = NULL;
	int fd, status = -1;

	/* .fcs-XXXXXX-NAME: hidden, and ending as NAME does, so libvips picks the same file type */
	if (g_snprintf(temporary, FCS_IMAGE_FILE_NAME_MAX, "%s/.fcs-XXXXXX-%s", folder, base) >= FCS_IMAGE_FILE_NAME_MAX) {
		g_snprintf(last_error, sizeof last_error, "the name is too long");
		temporary[0] = 0;
		goto done;
	}
	if ((fd = mkstemps(temporary, (int) strlen(base) + 1)) < 0) {
		g_snprintf(last_error, sizeof last_error, "cannot write in %s: %s", folder, strerror(errno));
		temporary[0] = 0;
		goto done;
	}
	if ((fchmod(fd, creation_mode) != 0) | (close(fd) != 0)) { /* | : close whatever fchmod did */
		g_snprintf(last_error, sizeof last_error, "cannot write %s: %s", temporary, strerror(errno));
		goto fail;
	}
	if (!(image = fcs_vips_image_from_pixels(pixels, width, height, channels, source))) {
		keep_vips_error();
		goto fail;
	}
	target = g_strconcat(temporary, options, NULL);
	status = vips_image_write_to_file(image, target, NULL);
	g_free(target);
	if (status) {
		keep_vips_error();
		goto fail;
	}
	goto done;

fail:
	unlink(temporary);
	temporary[0] = 0;
	status = -1;
done:
	if (image)
		g_object_unref(image);
	g_free(name);
	g_free(options);
	g_free(folder);
	g_free(base);
	return status;
}

int
fcs_image_file_commit(const char *temporary, const char *path)
{
	char *name = vips_filename_get_filename(path);
	int status = rename(temporary, name);

	if (status && errno == EISDIR)
		g_snprintf(last_error, sizeof last_error, "a folder is in the way");
	else if (status)
		g_snprintf(last_error, sizeof last_error, "cannot move %s into place: %s", temporary, strerror(errno));
	g_free(name);
	return status;
}

void
fcs_image_file_withdraw(const char *path)
{
	char *name = vips_filename_get_filename(path);

	unlink(name);
	g_free(name);
}

void
fcs_image_file_free_pixels(float *pixels)
{
	g_free(pixels);
}

void
fcs_image_file_release(void *source)
{
	if (source)
		g_object_unref(source);
}

const char *
fcs_image_file_error(void)
{
	return last_error;
}
