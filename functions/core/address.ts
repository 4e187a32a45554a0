/** The domain part of an address (`a@b.example` → `b.example`), as written. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
