"use client";
// A client component: the user downloads every task as tasks-export.json, or deletes the account (Better Auth's
// beforeDelete hook in lib/auth.ts has the todo API erase the tasks first).
import { api } from "@/lib/api";
import { authClient } from "@/lib/auth-client";
import { downloadExport } from "@/lib/todo-client";

export function AccountActions() {
  async function download() {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await downloadExport(api));
    link.download = "tasks-export.json";
    link.click();
    URL.revokeObjectURL(link.href);
  }

  async function deleteAccount() {
    if (!window.confirm("Delete your account and every task in it? This cannot be undone.")) return;
    const { error } = await authClient.deleteUser();
    if (error) window.alert(error.message ?? "Your account could not be deleted; try again.");
    else window.location.assign("/");
  }

  return (
    <section>
      <button onClick={download}>Download my tasks</button>
      <button onClick={deleteAccount}>Delete my account</button>
    </section>
  );
}
