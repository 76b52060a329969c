"""Running generators on real images: any size, tiling for large photos, file I/O."""
