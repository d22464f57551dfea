#include "vips_pixels.h"

/* The value that stands for "full" in an image of this format and interpretation (vips keeps
 * float sRGB in 0…255). */
static double
full_scale(VipsImage *image)
{
	if (image->Type == VIPS_INTERPRETATION_RGB16 || image->Type == VIPS_INTERPRETATION_GREY16 ||
		image->BandFmt == VIPS_FORMAT_USHORT)
		return 65535.0;
	return 255.0;
}

/* Swaps *image for next (taking its reference). */
static void
step(VipsImage **image, VipsImage *next)
{
	g_object_unref(*image);
	*image = next;
}

float *
fcs_vips_read_pixels(VipsImage *in, int *width, int *height, int *channels, VipsImage **like)
{
	VipsImage *x, *next;
	float *data;
	size_t size;
	int grey;

	if (vips_image_decode(in, &x))
		return NULL;
	if (vips_check_noncomplex("fcs", x)) {
		g_object_unref(x);
		return NULL;
	}
	/* fcs works in sRGB or grey: convert anything else (LAB, CMYK, scRGB, …) first */
	grey = x->Bands <= 2 && (x->Type == VIPS_INTERPRETATION_B_W || x->Type == VIPS_INTERPRETATION_GREY16 ||
		x->Type == VIPS_INTERPRETATION_MULTIBAND);
	if (!grey && x->Type != VIPS_INTERPRETATION_sRGB && x->Type != VIPS_INTERPRETATION_RGB16) {
		if (vips_colourspace(x, &next, VIPS_INTERPRETATION_sRGB, NULL))
			goto fail;
		step(&x, next);
	}
	if (x->Bands == 2) { /* grey + alpha: fcs takes 1, 3 or 4 channels */
		if (vips_colourspace(x, &next, x->Type == VIPS_INTERPRETATION_GREY16 ? VIPS_INTERPRETATION_RGB16
			: VIPS_INTERPRETATION_sRGB, NULL))
			goto fail;
		step(&x, next);
	}
	if (x->Bands > 4) {
		if (vips_extract_band(x, &next, 0, "n", 4, NULL))
			goto fail;
		step(&x, next);
	}
	*like = x;
	g_object_ref(x);
	if (vips_cast(x, &next, VIPS_FORMAT_FLOAT, NULL))
		goto fail_like;
	step(&x, next);
	if (vips_linear1(x, &next, 1.0 / full_scale(*like), 0.0, NULL))
		goto fail_like;
	step(&x, next);
	data = vips_image_write_to_memory(x, &size);
	if (!data)
		goto fail_like;
	*width = x->Xsize;
	*height = x->Ysize;
	*channels = x->Bands;
	g_object_unref(x);
	return data;

fail_like:
	g_object_unref(*like);
	*like = NULL;
fail:
	g_object_unref(x);
	return NULL;
}

VipsImage *
fcs_vips_image_from_pixels(const float *pixels, int width, int height, int channels, VipsImage *like)
{
	double full = full_scale(like);
	gboolean integer = !vips_band_format_isfloat(like->BandFmt);
	VipsInterpretation type = like->Type;
	VipsImage *x, *next;

	if (channels == 1 && like->Bands != 1)
		type = full > 255 ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W;
	/* colour made from grey (colourisation) */
	if (channels >= 3 && like->Bands < 3)
		type = full > 255 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
	if (!(x = vips_image_new_from_memory_copy(pixels, (size_t) width * height * channels * sizeof(float),
		      width, height, channels, VIPS_FORMAT_FLOAT)))
		return NULL;
	/* back to like's range, rounding to the nearest integer for integer formats (vips_cast truncates) */
	if (vips_linear1(x, &next, full, integer ? 0.5 : 0.0, NULL))
		goto fail;
	step(&x, next);
	if (vips_cast(x, &next, like->BandFmt, NULL))
		goto fail;
	step(&x, next);
	if (vips_copy(x, &next, "interpretation", type, "xres", like->Xres, "yres", like->Yres, NULL))
		goto fail;
	step(&x, next);
	return x;

fail:
	g_object_unref(x);
	return NULL;
}
