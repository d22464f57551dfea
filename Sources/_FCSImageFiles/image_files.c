#include <string.h>

#include "fcs_image_files.h"
#include "vips_pixels.h"

static __thread char last_error[1024];

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

int
fcs_image_files_init(const char *program)
{
	if (VIPS_INIT(program)) {
		keep_vips_error();
		return -1;
	}
	return 0;
}

float *
fcs_image_file_read(const char *path, int32_t *width, int32_t *height, int32_t *channels, void **source)
{
	VipsImage *image, *like = NULL;
	float *pixels;
	int w, h, c;

	if (!(image = vips_image_new_from_file(path, NULL))) {
		keep_vips_error();
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
fcs_image_file_write(const char *path, const float *pixels, int32_t width, int32_t height, int32_t channels,
                     void *source)
{
	VipsImage *image = fcs_vips_image_from_pixels(pixels, width, height, channels, source);
	int status;

	if (!image) {
		keep_vips_error();
		return -1;
	}
	status = vips_image_write_to_file(image, path, NULL);
	g_object_unref(image);
	if (status)
		keep_vips_error();
	return status;
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
