// Role-aware UI: what the signed-in user may do, mirroring tenants.Role on the server
// (CanEdit: admin and editor; CanManageUsers: admin only).
import type { Role } from "../api/types";
import { useApp } from "./app";
import { useStore } from "./store";

/** Permissions says which kinds of action a role may take, and why not. */
export interface Permissions {
  role: Role | null;
  /** canEdit: execute now, acknowledge, downtime, suppress, comments, config apply, API tokens. */
  canEdit: boolean;
  /** canManageUsers: invite users and change roles. */
  canManageUsers: boolean;
  /** editReason is the tooltip for a disabled editing action ("" when allowed). */
  editReason: string;
  /** usersReason is the tooltip for disabled user management ("" when allowed). */
  usersReason: string;
}

/** permissions derives what role may do; an unknown role may do nothing. */
export function permissions(role: Role | null | undefined): Permissions {
  const r = role ?? null;
  const canEdit = r === "ADMIN" || r === "EDITOR";
  const canManageUsers = r === "ADMIN";
  const word = r ? r.toLowerCase() : "unknown";
  return {
    role: r,
    canEdit,
    canManageUsers,
    editReason: canEdit ? "" : `Your role (${word}) can only view. Ask an admin for the editor role.`,
    usersReason: canManageUsers ? "" : `Only admins can manage users; your role is ${word}.`,
  };
}

/** usePermissions returns the signed-in user's permissions and re-renders when the role changes. */
export function usePermissions(): Permissions {
  const app = useApp();
  const role = useStore(app.auth, (a) => (a.status === "signedIn" ? a.user.role : null));
  return permissions(role);
}
