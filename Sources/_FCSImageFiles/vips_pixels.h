/* Images as libvips holds them <-> the packed float 0…1 pixels fcs takes (1, 3 or 4 channels,
 * sRGB or grey, alpha last). Shared by the fcs command (image files) and the vips operations
 * (bindings/vips), so both treat formats, alpha and colour spaces the same way. */
#ifndef FCS_VIPS_PIXELS_H
#define FCS_VIPS_PIXELS_H

#include <vips/vips.h>

/* in's pixels as packed floats 0…1 (free with g_free), or NULL with a vips error. *like gets a
 * new reference to the image whose format, interpretation and resolution results should get. */
float *fcs_vips_read_pixels(VipsImage *in, int *width, int *height, int *channels, VipsImage **like);

/* A new image from packed float 0…1 pixels, in like's band format and interpretation (one
 * channel becomes grey). NULL with a vips error. */
VipsImage *fcs_vips_image_from_pixels(const float *pixels, int width, int height, int channels, VipsImage *like);

#endif
