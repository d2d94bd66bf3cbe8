/**
 * @module
 * containerd image records: a name pointing at a root descriptor (index or
 * manifest) in the content store. Import and unpack live in image-import.ts.
 */
import { KeonError, isKeonError } from "../../model/errors.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type { Image, ImageInput } from "../generated/containerd-services-images-v1.ts";

const SERVICE = "containerd.services.images.v1.Images";

export class ImagesService {
  constructor(private readonly conn: ContainerdConnection) {}

  /** Create; CONFLICT if the name exists. */
  async create(image: ImageInput, options?: CallOptions): Promise<Image> {
    const response = await this.conn.unary(SERVICE, "Create", { image }, options);
    return present(response.image, image.name ?? "");
  }

  /** Image by name; NOT_FOUND if absent. */
  async get(name: string, options?: CallOptions): Promise<Image> {
    const response = await this.conn.unary(SERVICE, "Get", { name }, options);
    return present(response.image, name);
  }

  async list(filters: string[] = [], options?: CallOptions): Promise<Image[]> {
    const response = await this.conn.unary(SERVICE, "List", { filters }, options);
    return response.images;
  }

  /** Update the fields named in `fields` ("target", "labels", "labels.<key>"). */
  async update(image: ImageInput, fields: string[], options?: CallOptions): Promise<Image> {
    const response = await this.conn.unary(SERVICE, "Update", { image, update_mask: { paths: fields } }, options);
    return present(response.image, image.name ?? "");
  }

  /** Delete; `sync` waits for the GC it triggers. False if already gone. */
  async delete(name: string, sync = false, options?: CallOptions): Promise<boolean> {
    try {
      await this.conn.unary(SERVICE, "Delete", { name, sync }, options);
      return true;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return false;
      throw error;
    }
  }
}

function present(image: Image | null, name: string): Image {
  if (image === null) throw new KeonError("CONTAINERD_ERROR", `containerd returned no image for ${name}`);
  return image;
}
